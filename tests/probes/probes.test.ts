import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAIRFACE_AGE_EDGES, formatProblem, loadProbeSet } from '../../src/probes/index.js';
import { binLabels, binOf } from '../../src/probes/derive.js';

let dir: string;

async function png(path: string, shade: number): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: shade, g: 0, b: 0 } } })
    .png()
    .toFile(path);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-probes-'));
  for (let i = 0; i < 6; i++) await png(join(dir, 'csv', 'img', `${i}.png`), i * 10);
  await writeFile(join(dir, 'csv', 'img', 'broken.png'), 'not an image');
  await png(join(dir, 'outside.png'), 200);
  await symlink(join(dir, 'outside.png'), join(dir, 'csv', 'img', 'link.png'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generic CSV probe sets', () => {
  it('lists every problem with line, column and value and keeps the good rows', async () => {
    const csv = [
      'file,gender,race,label',
      'img/0.png,female,Black,cat', // line 2 ok
      'img/1.png,male,White,dog', // line 3 ok
      'img/missing.png,male,White,dog', // line 4 missing
      'img/0.png,female,Black,cat', // line 5 duplicate of line 2
      'img/2.png,,Asian,cat', // line 6 empty gender
      '../outside.png,male,Asian,cat', // line 7 escapes
      `${join(dir, 'outside.png')},male,Asian,cat`, // line 8 absolute
      'img/link.png,male,Asian,cat', // line 9 symlink out
      'img/broken.png,male,Asian,cat', // line 10 unreadable
      'img/3.png,female,Asian,', // line 11 empty label
      'img/4.png,female,Indian,dog', // line 12 ok
    ].join('\n');
    await writeFile(join(dir, 'csv', 'labels.csv'), csv);
    const probe = await loadProbeSet(join(dir, 'csv'), { required: ['gender', 'race'], quiet: true });
    expect(probe.format).toBe('csv');
    expect(probe.labelColumn).toBe('label');
    expect(probe.rows.map((r) => r.line)).toEqual([2, 3, 12]);
    expect(probe.rows[0]).toMatchObject({ file: 'img/0.png', attributes: { gender: 'female', race: 'Black' }, label: 'cat' });
    const byLine = Object.fromEntries(probe.problems.map((p) => [p.line, p]));
    expect(byLine[4]).toMatchObject({ column: 'file', value: 'img/missing.png', message: 'missing file' });
    expect(byLine[5].message).toBe('duplicate row: same file as line 2');
    expect(byLine[6]).toMatchObject({ column: 'gender', value: '' });
    expect(byLine[7].message).toMatch(/escapes/);
    expect(byLine[8].message).toMatch(/absolute/);
    expect(byLine[9].message).toMatch(/symlink/);
    expect(byLine[10].message).toMatch(/unreadable image/);
    expect(byLine[11]).toMatchObject({ column: 'label', value: '' });
    expect(probe.problems).toHaveLength(8);
    expect(formatProblem(byLine[4])).toBe('line 4, column file, value "img/missing.png": missing file');
  });

  it('names a missing attribute column', async () => {
    await expect(loadProbeSet(join(dir, 'csv'), { required: ['age'], quiet: true })).rejects.toThrow(/no column\(s\) age; its columns are "gender", "race", "label"/);
  });

  it('manifest hash ignores row order and changes with a label', async () => {
    await writeFile(join(dir, 'csv', 'a.csv'), 'file,gender\nimg/0.png,female\nimg/1.png,male\n');
    await writeFile(join(dir, 'csv', 'b.csv'), 'file,gender\nimg/1.png,male\nimg/0.png,female\n');
    await writeFile(join(dir, 'csv', 'c.csv'), 'file,gender\nimg/1.png,female\nimg/0.png,female\n');
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => loadProbeSet(join(dir, 'csv', `${n}.csv`), { quiet: true })));
    expect(a.manifestSha256).toBe(b.manifestSha256);
    expect(a.manifestSha256).not.toBe(c.manifestSha256);
  });
});

describe('other formats', () => {
  it('reads JSONL, reporting malformed lines', async () => {
    await writeFile(join(dir, 'csv', 'labels.jsonl'), '{"file":"img/0.png","gender":"female","age":34}\nnot json\n{"file":"img/1.png","gender":"male","age":7}\n');
    const probe = await loadProbeSet(join(dir, 'csv', 'labels.jsonl'), {
      ageBins: [{ name: 'age_group', from: 'age', edges: FAIRFACE_AGE_EDGES }],
      quiet: true,
    });
    expect(probe.format).toBe('jsonl');
    expect(probe.rows.map((r) => r.attributes.age_group)).toEqual(['30-39', '3-9']);
    expect(probe.problems).toEqual([expect.objectContaining({ line: 2, message: expect.stringMatching(/not valid JSON/) })]);
  });

  it('detects FairFace label CSVs', async () => {
    await writeFile(join(dir, 'csv', 'fairface_label_val.csv'), 'file,age,gender,race,service_test\nimg/0.png,20-29,Female,East Asian,True\n');
    const probe = await loadProbeSet(join(dir, 'csv', 'fairface_label_val.csv'), { quiet: true });
    expect(probe.format).toBe('fairface');
    expect(probe.rows[0].attributes).toMatchObject({ age: '20-29', gender: 'Female', race: 'East Asian' });
  });

  it('reads Hugging Face imagefolder metadata.csv (file_name)', async () => {
    await mkdir(join(dir, 'hf'), { recursive: true });
    await png(join(dir, 'hf', 'a.png'), 1);
    await writeFile(join(dir, 'hf', 'metadata.csv'), 'file_name,skin_tone\na.png,IV\n');
    const probe = await loadProbeSet(join(dir, 'hf'), { quiet: true });
    expect(probe.format).toBe('imagefolder');
    expect(probe.rows[0]).toMatchObject({ file: 'a.png', attributes: { skin_tone: 'IV' } });
  });

  it('decodes UTKFace file names', async () => {
    await png(join(dir, 'utk', '25_1_2_20170116174525125.jpg.chip.png'), 5);
    await png(join(dir, 'utk', '71_0_4_20170117.png'), 6);
    await png(join(dir, 'utk', 'holiday.png'), 7);
    const probe = await loadProbeSet(join(dir, 'utk'), { ageBins: [{ name: 'age_group', from: 'age', edges: FAIRFACE_AGE_EDGES }], quiet: true });
    expect(probe.format).toBe('utkface');
    expect(probe.rows.map((r) => r.attributes)).toEqual([
      { age: '25', gender: 'female', race: 'Asian', age_group: '20-29' },
      { age: '71', gender: 'male', race: 'Others', age_group: '70+' },
    ]);
    expect(probe.problems).toEqual([expect.objectContaining({ value: 'holiday.png', message: expect.stringMatching(/UTKFace/) })]);
  });
});

describe('age bins', () => {
  it('labels FairFace bins and rejects non-numbers', () => {
    const labels = binLabels(FAIRFACE_AGE_EDGES);
    expect(labels).toEqual(['0-2', '3-9', '10-19', '20-29', '30-39', '40-49', '50-59', '60-69', '70+']);
    expect(binOf('2', FAIRFACE_AGE_EDGES, labels)).toBe('0-2');
    expect(binOf('70', FAIRFACE_AGE_EDGES, labels)).toBe('70+');
    expect(binOf('unknown', FAIRFACE_AGE_EDGES, labels)).toBeNull();
    expect(binOf('-1', FAIRFACE_AGE_EDGES, labels)).toBeNull();
  });
});

describe('vigil probes check', () => {
  it('lists problems and exits 2', async () => {
    await writeFile(join(dir, 'csv', 'check.csv'), 'file,gender\nimg/0.png,female\nimg/nope.png,male\n');
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'probes', 'check', join(dir, 'csv', 'check.csv'), '--sensitive', 'gender']).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/1 of 2 rows valid/);
    expect(result.stdout).toMatch(/line 3, column file, value "img\/nope.png": missing file/);
  });
});

describe('error messages about a hostile header', () => {
  it('shorten a 1 MB column name and thousands of columns instead of echoing them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-probe-header-'));
    const huge = 'x'.repeat(1024 * 1024);
    const many = Array.from({ length: 5000 }, (_, i) => `c${i}`);
    await writeFile(join(dir, 'labels.csv'), `${huge},${many.join(',')}\nv,${many.map(() => '1').join(',')}\n`);
    const error = await loadProbeSet(join(dir, 'labels.csv'), { quiet: true }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/needs a "file" column/);
    expect(error?.message).toMatch(/and 4981 more$/);
    expect(error!.message.length).toBeLessThan(2000);
  });
});
