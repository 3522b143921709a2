import type { FileVerification, IngredientNode, ManifestSummary, ProvenanceResults, StatusCode } from './result.js';

/**
 * The terminal rendering of verify results (like `c2patool --tree`, with explanations). Manifest
 * strings are printed with control characters made visible, so a hostile title cannot rewrite
 * the terminal.
 */

function visible(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line per distinct code (the same code for several manifest parts is counted, not repeated). */
function codeLines(codes: readonly StatusCode[], indent: string): string[] {
  const counts = new Map<string, { code: StatusCode; count: number }>();
  for (const code of codes) {
    const entry = counts.get(code.code);
    if (entry) entry.count++;
    else counts.set(code.code, { code, count: 1 });
  }
  return [...counts.values()].map(({ code, count }) => {
    const times = count > 1 ? ` (${count}x)` : '';
    const validator = code.known ? '' : ` (validator: ${visible(code.validatorExplanation ?? '')})`;
    return `${indent}${code.kind === 'failure' ? '✗' : 'i'} ${code.code}${times}: ${code.explanation}${validator}`;
  });
}

function manifestLines(manifest: ManifestSummary, indent: string): string[] {
  const lines: string[] = [];
  const generator = manifest.claimGenerator ?? manifest.claimGeneratorInfo.map((info) => [info.name, info.version].filter(Boolean).join(' ')).join(', ');
  if (manifest.title !== undefined) lines.push(`${indent}title: ${visible(manifest.title)}`);
  if (generator) lines.push(`${indent}claim generator: ${visible(generator)}`);
  if (manifest.signer) {
    const signer = manifest.signer;
    const trust = signer.trustedBy.length > 0 ? `trusted by ${signer.trustedBy.join(', ')}` : 'not on any configured trust list';
    lines.push(`${indent}signer: ${visible(signer.subject)} (issuer ${visible(signer.issuer)}, ${signer.algorithm ?? 'unknown algorithm'}; ${trust})`);
    if (signer.notBefore || signer.notAfter) lines.push(`${indent}  certificate valid ${signer.notBefore ?? '?'} .. ${signer.notAfter ?? '?'}`);
  }
  if (manifest.signingTime) lines.push(`${indent}signed: ${manifest.signingTime} (time-stamp: ${manifest.timestamp.status})`);
  if (manifest.aiGenerated) lines.push(`${indent}AI-GENERATED: ${manifest.digitalSourceTypes.filter((type) => type.aiGenerated).map((type) => type.term).join(', ')}`);
  for (const action of manifest.actions) {
    const parts = [action.action];
    if (action.digitalSourceType) parts.push(`source: ${action.digitalSourceType.term}${action.digitalSourceType.aiGenerated ? ' [AI]' : ''}`);
    if (action.softwareAgent) parts.push(`by ${visible(action.softwareAgent)}`);
    lines.push(`${indent}action: ${parts.join(', ')}`);
  }
  lines.push(`${indent}assertions: ${manifest.assertions.map((assertion) => visible(assertion.label)).join(', ') || '(none)'}`);
  for (const ingredient of manifest.ingredients) lines.push(...ingredientLines(ingredient, indent));
  return lines;
}

function ingredientLines(node: IngredientNode, indent: string): string[] {
  const lines = [`${indent}└ ingredient ${visible(node.title ?? '(untitled)')} [${node.relationship ?? 'unknown relationship'}]: ${node.state}`];
  lines.push(...codeLines(node.codes.failure, `${indent}    `));
  if (node.manifest) lines.push(...manifestLines(node.manifest, `${indent}    `));
  return lines;
}

function fileLines(file: FileVerification): string[] {
  const lines = [`${visible(file.path)}: ${file.state ?? 'ERROR'}${file.error ? ` (${visible(file.error)})` : ''}`];
  lines.push(...codeLines(file.codes.failure, '  '));
  lines.push(...codeLines(file.codes.informational, '  '));
  for (const list of file.trustLists) lines.push(`  trust list ${list.name}: ${list.trusted ? 'signer chains to it' : 'not trusted'}`);
  if (file.activeManifest) lines.push(...manifestLines(file.activeManifest, '  '));
  if (file.softBinding?.match) {
    const match = file.softBinding.match;
    const clip = match.clipSimilarity === undefined ? '' : `, CLIP ${match.clipSimilarity.toFixed(3)} >= ${match.clipThreshold}`;
    lines.push(`  matches signed original ${match.recordId}, similarity ${match.similarity.toFixed(3)} (${match.method}, threshold ${match.threshold}${clip})`);
    lines.push(`  signed ${match.signedAt} as ${visible(match.signedPath)}; its manifest:`);
    lines.push(...manifestLines(match.manifest, '    '));
  } else if (file.softBinding?.error) {
    lines.push(`  soft-binding lookup skipped: ${visible(file.softBinding.error)}`);
  } else if (file.softBinding) {
    lines.push(`  no signed original in ${visible(file.softBinding.index)} looks like this image`);
  }
  return lines;
}

export function formatVerifyText(results: ProvenanceResults): string {
  const { summary } = results;
  const lines = results.files.flatMap((file) => [...fileLines(file), '']);
  lines.push(
    `${summary.files} file(s): ${summary.trusted} Trusted, ${summary.valid} Valid, ${summary.invalid} Invalid, ${summary.noManifest} NoManifest, ${summary.errors} error(s); ${summary.aiGenerated} declared AI-generated; ${summary.recovered} recovered by soft binding`,
  );
  return `${lines.join('\n')}\n`;
}
