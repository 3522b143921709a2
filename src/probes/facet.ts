/**
 * FACET annotations (Gustafson et al. 2023): one CSV row per person with `person_id`, `filename`,
 * `class1` (the person class, e.g. "guitarist"), `bounding_box` (JSON {"x", "y", "width",
 * "height"}) and perceived attributes as vote columns: `skin_tone_1` ... `skin_tone_10` (how many
 * annotators chose each Monk Skin Tone value; several annotators, several choices each) and
 * `skin_tone_na`, and one-hot/vote columns `<attribute>_<value>` for `gender_presentation`,
 * `age_presentation`, `hair_color`, `hairtype`, `lighting`, ...
 *
 * Multi-valued attributes are reduced to one group per person, as documented in docs/detect.md:
 * - `skin_tone`: the votes are summed per Monk-scale bin, lighter (1-3), medium (4-6), darker
 *   (7-10), and the bin with the most votes is the group; a tie between bins is "mixed"; no vote
 *   (or only `skin_tone_na`) is "na". `skin_tone_monk` is the Monk value with the most votes
 *   (ties "mixed").
 * - any other `<attribute>`: the `<attribute>_<value>` column with the most votes; ties "mixed";
 *   no votes "na". A plain column named `<attribute>` is used as it is.
 * Every person is one instance of category "person" (FACET's classes are all person classes).
 */
import { parse } from 'csv-parse/sync';
import { errorMessage, VigilInputError } from '../core/errors.js';
import { MAX_DOCUMENT_BYTES, readInputFile, sha256Hex } from '../core/files.js';
import { Problems, readCocoInstances, type AnnotatedInstance, type CocoGroundTruth, type CocoImage } from './coco.js';

const MONK_BINS: { name: string; from: number; to: number }[] = [
  { name: 'lighter', from: 1, to: 3 },
  { name: 'medium', from: 4, to: 6 },
  { name: 'darker', from: 7, to: 10 },
];

/** The key with the most votes; "mixed" on a tie, "na" when no key has a vote. */
function majority(votes: Map<string, number>): string {
  let best = 0;
  let winners: string[] = [];
  for (const [key, count] of votes) {
    if (count > best) {
      best = count;
      winners = [key];
    } else if (count === best && count > 0) winners.push(key);
  }
  if (best === 0) return 'na';
  return winners.length === 1 ? winners[0] : 'mixed';
}

/** Every key with a vote ("any annotator"), sorted; ["na"] when none has one. */
function chosen(votes: Map<string, number>): string[] {
  const keys = [...votes].filter(([, count]) => count > 0).map(([key]) => key);
  return keys.length === 0 ? ['na'] : keys.sort();
}

export async function readFacetAnnotations(path: string, required: readonly string[]): Promise<CocoGroundTruth> {
  const bytes = await readInputFile(path, { what: 'the FACET annotations file', maxBytes: MAX_DOCUMENT_BYTES });
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(bytes, { columns: true, bom: true, skip_empty_lines: true, info: true, trim: true });
  } catch (error) {
    throw new VigilInputError(`FACET annotations file ${path} is not valid CSV: ${errorMessage(error)}`, { subject: path });
  }
  const problems = new Problems();
  if (records.length === 0) problems.note('(file)', 'no rows');
  const header = records.length > 0 ? Object.keys(records[0].record) : [];
  for (const column of ['person_id', 'filename', 'bounding_box']) if (records.length > 0 && !header.includes(column)) problems.note(`column ${column}`, 'missing');
  // Which columns feed each required attribute.
  const sources = new Map<string, { column: string; value: string }[] | 'plain'>();
  for (const name of required) {
    if (header.includes(name)) sources.set(name, 'plain');
    else if (name === 'skin_tone' || name === 'skin_tone_monk') {
      const missing = Array.from({ length: 10 }, (_, k) => `skin_tone_${k + 1}`).filter((c) => !header.includes(c));
      if (missing.length > 0) problems.note(`attribute ${name}`, `needs the Monk-scale vote columns skin_tone_1 ... skin_tone_10; missing ${missing.join(', ')}`);
      sources.set(name, Array.from({ length: 10 }, (_, k) => ({ column: `skin_tone_${k + 1}`, value: String(k + 1) })));
    } else {
      const columns = header.filter((c) => c.startsWith(`${name}_`)).map((column) => ({ column, value: column.slice(name.length + 1) }));
      if (columns.length === 0) problems.note(`attribute ${name}`, `no column ${name} and no vote columns ${name}_<value> (columns: ${header.join(', ')})`);
      sources.set(name, columns.filter((c) => c.value !== 'na'));
    }
  }
  problems.throwIfAny(path, 'FACET annotations file');

  const rows: { line: number; personId: number; file: string; bbox: [number, number, number, number]; attributes: Record<string, string>; memberships: Record<string, string[]> }[] = [];
  const seen = new Set<number>();
  for (const { record, info } of records) {
    const at = `line ${info.lines}`;
    const personId = Number(record.person_id);
    if (!Number.isSafeInteger(personId) || record.person_id === '') {
      problems.add(`${at}, person_id`, 'an integer', record.person_id);
      continue;
    }
    if (seen.has(personId)) {
      problems.note(`${at}, person_id`, `duplicate person_id ${personId}`);
      continue;
    }
    seen.add(personId);
    if ((record.filename ?? '') === '') problems.add(`${at}, filename`, 'a file name', record.filename);
    let box: unknown;
    try {
      box = JSON.parse(record.bounding_box ?? '');
    } catch {
      box = undefined;
    }
    const b = box as Record<string, unknown> | undefined;
    const bbox = b && typeof b === 'object' ? ([b.x, b.y, b.width, b.height] as unknown[]) : [];
    if (bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v)) || (bbox[2] as number) < 0 || (bbox[3] as number) < 0) {
      problems.add(`${at}, bounding_box`, 'JSON {"x": .., "y": .., "width": .., "height": ..} with finite numbers, width and height >= 0', record.bounding_box);
      continue;
    }
    const attributes: Record<string, string> = {};
    const memberships: Record<string, string[]> = {};
    let ok = true;
    for (const [name, source] of sources) {
      if (source === 'plain') {
        attributes[name] = record[name];
        if (attributes[name] === '') {
          problems.note(`${at}, ${name}`, 'empty value');
          ok = false;
        }
        continue;
      }
      const votes = new Map<string, number>();
      for (const { column, value } of source) {
        const text = record[column] ?? '';
        const count = text === '' ? 0 : Number(text);
        if (!Number.isInteger(count) || count < 0) {
          problems.add(`${at}, ${column}`, 'a vote count (a non-negative integer; empty means 0)', text);
          ok = false;
        }
        votes.set(value, count);
      }
      if (name === 'skin_tone') {
        const bins = new Map(MONK_BINS.map((bin) => [bin.name, 0]));
        for (const [value, count] of votes) {
          const bin = MONK_BINS.find((x) => Number(value) >= x.from && Number(value) <= x.to) as (typeof MONK_BINS)[number];
          bins.set(bin.name, (bins.get(bin.name) ?? 0) + count);
        }
        attributes[name] = majority(bins);
        memberships[name] = chosen(bins);
      } else {
        attributes[name] = majority(votes);
        memberships[name] = chosen(votes);
      }
    }
    if (ok) rows.push({ line: info.lines, personId, file: record.filename, bbox: bbox as [number, number, number, number], attributes, memberships });
  }
  problems.throwIfAny(path, 'FACET annotations file');
  const files = [...new Set(rows.map((r) => r.file))].sort();
  const ids = new Map(files.map((file, i) => [file, i + 1]));
  // FACET gives no image sizes; they are not needed for boxes (area = width × height).
  const images: CocoImage[] = files.map((file, i) => ({ id: i + 1, file_name: file, width: 0, height: 0 }));
  const annotations: AnnotatedInstance[] = rows.map((r) => ({
    id: r.personId,
    image_id: ids.get(r.file) as number,
    category_id: 1,
    bbox: r.bbox,
    area: r.bbox[2] * r.bbox[3],
    iscrowd: false,
    attributes: r.attributes,
    memberships: r.memberships,
  }));
  return { path, sha256: sha256Hex(bytes), format: 'facet', images, categories: [{ id: 1, name: 'person' }], annotations };
}

/** COCO instances JSON or a FACET CSV, by extension. */
export async function readAnnotations(path: string, options: { required: readonly string[]; categories?: readonly string[]; masks?: boolean }): Promise<CocoGroundTruth> {
  if (path.toLowerCase().endsWith('.csv')) return readFacetAnnotations(path, options.required);
  return readCocoInstances(path, options);
}
