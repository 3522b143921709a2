import type {
  FileVerification,
  IngredientNode,
  ManifestSummary,
  ProvenanceResults,
  StatusCode,
  StatusCodes,
} from '../../provenance/result.js';
import { formatNumber } from '../helpers.js';
import { inlineThumbnail, resolveRecordedPath, sampleWithinBudget, thumbnail, type Thumbnail } from '../images.js';
import { envelopeReproducibility, type Headline, type ReportView, type ViewContext } from '../view.js';
import type { ReportModule } from './module.js';

/** Files with a detail card, and rows of the table at a glance, at most (files needing attention first). */
const MAX_FILE_CARDS = 200;
const MAX_TABLE_ROWS = 1000;

/** Ingredient trees deeper than this are cut (with a note in the tree): real chains are shallow. */
const MAX_INGREDIENT_DEPTH = 8;

/** What each state means, for readers who do not know C2PA. */
const STATE_MEANING: Record<string, string> = {
  Trusted: 'The provenance record is intact and its signer chains to a trust list you configured.',
  Valid: 'The provenance record is intact, but its signer is not on any trust list you configured: it says who claims to have made it, not that the claim is vouched for.',
  Invalid: 'The provenance record is broken or does not match the file: the file or its record was altered after signing, or the signature is bad.',
  NoManifest: 'The file carries no C2PA provenance record. Most images have none; this says nothing either way about how it was made.',
  Unreadable: 'Nothing can be said about this file: it cannot be parsed and carries no manifest, or its manifest is stored remotely and was not fetched.',
};

interface IngredientView {
  title?: string;
  format?: string;
  relationship?: string;
  state: string;
  failures: StatusCode[];
  manifest?: { label: string; claimGenerator?: string; signer?: string; aiGenerated: boolean };
  thumbnail?: Thumbnail;
  children: IngredientView[];
  truncated: boolean;
}

/** Ingredient thumbnails share the report's image budget with the file previews. */
interface ImageBudget {
  left: number;
  omitted: number;
}

/** Edge of an ingredient thumbnail in the tree, in pixels. */
const INGREDIENT_THUMBNAIL_EDGE = 96;

async function ingredientThumbnail(node: IngredientNode, budget: ImageBudget): Promise<Thumbnail | undefined> {
  if (node.thumbnail === undefined) return undefined;
  if (budget.left <= 0) {
    budget.omitted++;
    return undefined;
  }
  const image = await inlineThumbnail(node.thumbnail, INGREDIENT_THUMBNAIL_EDGE);
  if (image) budget.left--;
  return image;
}

async function ingredientView(node: IngredientNode, depth: number, budget: ImageBudget): Promise<IngredientView> {
  const children = node.manifest?.ingredients ?? [];
  const cut = depth >= MAX_INGREDIENT_DEPTH;
  const image = await ingredientThumbnail(node, budget);
  const childViews: IngredientView[] = [];
  if (!cut) for (const child of children) childViews.push(await ingredientView(child, depth + 1, budget));
  return {
    ...(image === undefined ? {} : { thumbnail: image }),
    title: node.title,
    format: node.format,
    relationship: node.relationship,
    state: node.state,
    failures: node.codes.failure,
    manifest: node.manifest
      ? {
          label: node.manifest.label,
          claimGenerator: node.manifest.claimGenerator,
          signer: node.manifest.signer?.subject,
          aiGenerated: node.manifest.aiGenerated,
        }
      : undefined,
    children: childViews,
    truncated: cut && children.length > 0,
  };
}

async function manifestView({ thumbnail: _claimThumbnail, ...manifest }: ManifestSummary, budget: ImageBudget) {
  const ingredients: IngredientView[] = [];
  for (const node of manifest.ingredients) ingredients.push(await ingredientView(node, 1, budget));
  return {
    ...manifest,
    generator: manifest.claimGenerator ?? manifest.claimGeneratorInfo.map((g) => [g.name, g.version].filter(Boolean).join(' ')).join(', '),
    aiTypes: manifest.digitalSourceTypes.filter((t) => t.aiGenerated),
    actions: manifest.actions.map((action) => ({
      ...action,
      parameters: action.parameters === undefined ? undefined : JSON.stringify(action.parameters),
    })),
    assertions: manifest.assertions.map((assertion) => assertion.label),
    ingredients,
  };
}

/** A code's one-line meaning for the per-file list: the first sentence of its explanation (the legend has it all). */
function oneLine(explanation: string): string {
  const match = /^(.+?[.;:])(\s|$)/.exec(explanation);
  return match ? match[1].replace(/[;:]$/, '.') : explanation;
}

/**
 * The state a badge shows. "Trusted" only when the signer line can name the list it chains to, so a
 * badge never says more than the text beside it; otherwise an intact record is shown as Valid.
 */
function shownState(file: FileVerification): { state: string; trustedBy: string[] } {
  const trustedBy = file.activeManifest?.signer?.trustedBy ?? [];
  if (file.state === 'Trusted' && trustedBy.length === 0) return { state: 'Valid', trustedBy };
  return { state: file.state ?? 'error', trustedBy: file.state === 'Trusted' ? trustedBy : [] };
}

/** The sentence at the top: what needs attention first, then what holds. */
export function provenanceHeadline(result: ProvenanceResults): Headline {
  const { summary } = result;
  const parts: string[] = [];
  if (summary.trusted > 0) parts.push(`${summary.trusted} intact and signed by a signer on a configured trust list`);
  if (summary.valid > 0) parts.push(`${summary.valid} intact but signed by a signer on no configured trust list`);
  if (summary.noManifest > 0) parts.push(`${summary.noManifest} without a provenance record (which says nothing either way)`);
  if (summary.errors > 0) parts.push(`${summary.errors} could not be read`);
  if ((summary.unreadable ?? 0) > 0) parts.push(`${summary.unreadable} unreadable (nothing can be said)`);
  const rest = parts.length > 0 ? `; ${parts.join(', ')}` : '';
  if (summary.invalid > 0) {
    return { label: 'INVALID', tone: 'bad', text: `${summary.invalid} of ${summary.files} file(s) have a provenance record that fails validation (changed after signing, or a bad signature)${rest}.` };
  }
  if (summary.files > 0 && summary.trusted === summary.files) {
    return { label: 'TRUSTED', tone: 'good', text: `all ${summary.files} file(s) have intact provenance from a signer on a configured trust list.` };
  }
  return { label: 'NO FAILURES', tone: 'neutral', text: `no provenance record fails validation${rest.replace(/^; /, ': ')}.` };
}

/** The same code often repeats (one hashedURI.match per assertion): list it once, with a count. */
function distinctCodes(codes: readonly StatusCode[]): (StatusCode & { count: number })[] {
  const byCode = new Map<string, StatusCode & { count: number }>();
  for (const code of codes) {
    const entry = byCode.get(code.code);
    if (entry) entry.count++;
    else byCode.set(code.code, { ...code, count: 1 });
  }
  return [...byCode.values()];
}

function allCodes(codes: StatusCodes): StatusCode[] {
  return [...codes.failure, ...codes.informational, ...codes.success];
}

/** Every distinct code of the document with its explanation: the glossary at the end of the report. */
function glossary(files: readonly FileVerification[]): StatusCode[] {
  const seen = new Map<string, StatusCode>();
  const visitIngredients = (nodes: readonly IngredientNode[]) => {
    for (const node of nodes) {
      for (const code of allCodes(node.codes)) if (!seen.has(code.code)) seen.set(code.code, code);
      visitIngredients(node.manifest?.ingredients ?? []);
    }
  };
  for (const file of files) {
    for (const code of allCodes(file.codes)) if (!seen.has(code.code)) seen.set(code.code, code);
    visitIngredients(file.activeManifest?.ingredients ?? []);
  }
  const order = { failure: 0, informational: 1, success: 2 } as const;
  return [...seen.values()].sort((a, b) => order[a.kind] - order[b.kind] || a.code.localeCompare(b.code));
}

async function fileThumbnails(files: readonly FileVerification[], context: ViewContext) {
  const readable = files.filter((file) => file.error === undefined);
  const sampled = sampleWithinBudget(readable, context.maxImages, context.seed);
  const thumbnails = new Map<FileVerification, Thumbnail>();
  for (const file of sampled.items) {
    const image = await thumbnail(resolveRecordedPath(file.path, context.baseDir, context.imagesUnder));
    if (image) thumbnails.set(file, image);
  }
  return { thumbnails, omitted: sampled.omitted };
}

export const provenanceModule: ReportModule<ProvenanceResults> = {
  schema: 'vigil/provenance',
  async buildView(result, context) {
    const { summary } = result;
    const { thumbnails, omitted } = await fileThumbnails(result.files, context);
    // Ingredient thumbnails (carried with verify --thumbnails) use what the file previews left of the budget.
    const budget: ImageBudget = { left: context.maxImages - thumbnails.size, omitted: 0 };
    const manifests = new Map<FileVerification, Awaited<ReturnType<typeof manifestView>>>();
    for (const file of result.files) if (file.activeManifest) manifests.set(file, await manifestView(file.activeManifest, budget));
    const files = result.files.map((file, index) => {
      const shown = shownState(file);
      return {
        anchor: `file-${index + 1}`,
        path: file.path,
        sha256: file.sha256,
        format: file.format,
        ...shown,
        stateMeaning: file.state ? STATE_MEANING[shown.state] : undefined,
        error: file.error,
        thumbnail: thumbnails.get(file),
        manifestCount: file.manifestCount,
        manifest: manifests.get(file),
        trustLists: file.trustLists,
        codes: {
          failure: distinctCodes(file.codes.failure).map((code) => ({ ...code, meaning: oneLine(code.explanation) })),
          informational: distinctCodes(file.codes.informational).map((code) => ({ ...code, meaning: oneLine(code.explanation) })),
          success: distinctCodes(file.codes.success),
        },
        hasCodes: allCodes(file.codes).length > 0,
        softBinding: file.softBinding,
        disclosure: file.disclosure,
        aiDisclosed: file.disclosure !== undefined && file.disclosure.level !== 'none' && file.disclosure.level !== 'weakCue',
        remoteManifest: file.remoteManifest,
      };
    });

    // Large runs: the files that need attention (invalid, unreadable) first, shown in their original order.
    const attention = { Invalid: 0, Unreadable: 0, Trusted: 1, Valid: 1, NoManifest: 2 } as const;
    const prioritized = files
      .map((file, order) => ({ file, order, rank: file.state in attention ? attention[file.state as keyof typeof attention] : 0 }))
      .sort((a, b) => a.rank - b.rank || a.order - b.order);
    const firstInOrder = (n: number) =>
      prioritized
        .slice(0, n)
        .sort((a, b) => a.order - b.order)
        .map(({ file }) => file);
    const cards = firstInOrder(MAX_FILE_CARDS);
    const rows = firstInOrder(MAX_TABLE_ROWS);
    const carded = new Set(cards);

    const verdict = summary.invalid > 0 ? 'invalid' : summary.files > 0 && summary.trusted === summary.files ? 'trusted' : undefined;
    const notes: string[] = [];
    if (files.length > cards.length) {
      notes.push(
        `Details are shown for ${cards.length} and the table lists ${rows.length} of ${files.length} files (invalid and unreadable ones first); every file is in results.json.`,
      );
    }
    if (omitted > 0 && context.visuals) notes.push(`${omitted} file preview(s) were left out to keep this report small (at most ${context.maxImages}, sampled with seed ${context.seed}).`);
    if (budget.omitted > 0 && context.visuals) notes.push(`${budget.omitted} ingredient thumbnail(s) were left out to keep this report small (at most ${context.maxImages} images).`);
    if (result.trustLists.length === 0) {
      notes.push('No trust lists were configured, so no signer can be Trusted: intact manifests show as Valid. Pass --trust-anchors name=file.pem to check signers.');
    }

    const view: ReportView = {
      partial: 'provenance',
      kindLabel: 'Provenance verification',
      headline: provenanceHeadline(result),
      title: `C2PA provenance of ${formatNumber(summary.files)} file(s)`,
      subtitle: 'Content Credentials (C2PA) read and validated with c2pa-rs (WebAssembly build), offline.',
      verdict,
      verdictReason:
        verdict === 'invalid'
          ? `${summary.invalid} of ${summary.files} file(s) have a provenance record that fails validation.`
          : verdict === 'trusted'
            ? 'Every file has an intact provenance record from a trusted signer.'
            : undefined,
      summary: [
        { key: 'files', label: 'Files', value: formatNumber(summary.files), raw: summary.files },
        { key: 'trusted', label: 'Trusted', value: formatNumber(summary.trusted), raw: summary.trusted },
        { key: 'valid', label: 'Valid, untrusted signer', value: formatNumber(summary.valid), raw: summary.valid },
        { key: 'invalid', label: 'Invalid', value: formatNumber(summary.invalid), raw: summary.invalid },
        { key: 'no-manifest', label: 'No manifest', value: formatNumber(summary.noManifest), raw: summary.noManifest },
        { key: 'ai-generated', label: 'AI disclosed (whole chain)', value: formatNumber(summary.aiGenerated), raw: summary.aiGenerated },
        ...(summary.unreadable ? [{ key: 'unreadable', label: 'Unreadable', value: formatNumber(summary.unreadable), raw: summary.unreadable }] : []),
        ...(summary.skipped ? [{ key: 'skipped', label: 'Skipped (listed)', value: formatNumber(summary.skipped), raw: summary.skipped }] : []),
        { key: 'errors', label: 'Could not be read', value: formatNumber(summary.errors), raw: summary.errors },
        ...(summary.recovered > 0
          ? [{ key: 'recovered', label: 'Recovered by soft binding', value: formatNumber(summary.recovered), raw: summary.recovered }]
          : []),
      ],
      sections: [
        { id: 'files-table', title: 'Files at a glance' },
        ...((result.skipped?.length ?? 0) > 0 ? [{ id: 'skipped', title: 'Skipped files' }] : []),
        { id: 'trust-lists', title: 'Trust lists' },
        { id: 'codes', title: 'Status codes explained' },
        { id: 'file-details', title: 'File details' },
      ],
      notes,
      body: {
        files: rows.map((file) => ({ ...file, hasCard: carded.has(file) })),
        cards,
        trustLists: result.trustLists,
        skipped: result.skipped ?? [],
        glossary: glossary(result.files),
        states: Object.entries(STATE_MEANING).map(([state, meaning]) => ({ state, meaning })),
      },
      reproducibility: [
        ...envelopeReproducibility(result),
        ...result.trustLists.map((list) => ({ label: `Trust list “${list.name}”`, value: `${list.file} (${list.anchors} anchors)`, mono: true })),
        ...result.files
          .filter((file) => file.sha256 !== undefined)
          .slice(0, 50)
          .map((file) => ({ label: `sha256 of ${file.path}`, value: file.sha256 as string, mono: true })),
      ],
      limitations: [
        'Verification is offline: certificate revocation (OCSP) is not checked and remote manifests are not fetched.',
        'A valid manifest proves who signed the record and that the file is unchanged since; it does not prove the statements in it are true.',
        'No manifest is the normal case for most images; stripping a manifest leaves no trace, so its absence is not evidence of anything.',
        'An AI-generated declaration is made by the signer; content made with AI can lack it.',
      ],
    };
    return view;
  },
};
