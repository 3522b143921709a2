import { printable } from '../core/printable.js';
import type { AiDisclosure } from './disclosure.js';
import type { FileVerification, IngredientNode, ManifestSummary, ProvenanceResults, StatusCode } from './result.js';
import type { TrustList } from './trust.js';

/**
 * The terminal rendering of verify results (like `c2patool --tree`, with explanations). Manifest
 * strings go through core's printable(), so a hostile title cannot rewrite the terminal.
 */

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
    const validator = code.known ? '' : ` (validator: ${printable(code.validatorExplanation ?? '')})`;
    const line = `${indent}${code.kind === 'failure' ? '✗' : code.kind === 'success' ? '✓' : 'i'} ${code.code}${times}: ${code.explanation}${validator}`;
    return code.finding ? `${line}\n${indent}    → ${printable(code.finding)}` : line;
  });
}

function manifestLines(manifest: ManifestSummary, indent: string): string[] {
  const lines: string[] = [];
  const generator = manifest.claimGenerator ?? manifest.claimGeneratorInfo.map((info) => [info.name, info.version].filter(Boolean).join(' ')).join(', ');
  if (manifest.title !== undefined) lines.push(`${indent}title: ${printable(manifest.title)}`);
  if (generator) lines.push(`${indent}claim generator: ${printable(generator)}`);
  if (manifest.signer) {
    const signer = manifest.signer;
    const trust = signer.trustedBy.length > 0 ? `trusted by ${signer.trustedBy.join(', ')}` : 'not on any configured trust list';
    lines.push(`${indent}signer: ${printable(signer.subject)} (issuer ${printable(signer.issuer)}, ${signer.algorithm ?? 'unknown algorithm'}; ${trust})`);
    if (signer.notBefore || signer.notAfter) lines.push(`${indent}  certificate valid ${signer.notBefore ?? '?'} .. ${signer.notAfter ?? '?'}`);
    if (signer.validity) lines.push(`${indent}  ${signer.validity}`);
  }
  if (manifest.signingTime) lines.push(`${indent}signed: ${manifest.signingTime} (time-stamp: ${manifest.timestamp.status})`);
  if (manifest.timestamp.note) lines.push(`${indent}  ${manifest.timestamp.note}`);
  if (manifest.aiGenerated) lines.push(`${indent}AI-GENERATED: ${manifest.digitalSourceTypes.filter((type) => type.aiGenerated).map((type) => type.term).join(', ')}`);
  for (const action of manifest.actions) {
    const parts = [action.action];
    if (action.digitalSourceType) parts.push(`source: ${action.digitalSourceType.term}${action.digitalSourceType.aiGenerated ? ' [AI]' : ''}`);
    if (action.softwareAgent) parts.push(`by ${printable(action.softwareAgent)}`);
    lines.push(`${indent}action: ${parts.join(', ')}`);
  }
  lines.push(`${indent}assertions: ${manifest.assertions.map((assertion) => printable(assertion.label)).join(', ') || '(none)'}`);
  for (const ingredient of manifest.ingredients) lines.push(...ingredientLines(ingredient, indent));
  return lines;
}

function ingredientLines(node: IngredientNode, indent: string): string[] {
  const lines = [`${indent}└ ingredient ${printable(node.title ?? '(untitled)')} [${node.relationship ?? 'unknown relationship'}]: ${node.state}`];
  lines.push(...codeLines(node.codes.failure, `${indent}    `));
  if (node.manifest) lines.push(...manifestLines(node.manifest, `${indent}    `));
  return lines;
}

function disclosureLines(disclosure: AiDisclosure): string[] {
  const lines = [`  AI disclosure: ${disclosure.level} (${disclosure.summary})`];
  for (const evidence of disclosure.evidence) {
    const via = evidence.via.length > 0 ? ` [via ingredient ${evidence.via.map(printable).join(' → ')}]` : '';
    lines.push(`    ${evidence.level}: ${printable(evidence.statement)}${via}`);
    lines.push(`      evidence: ${evidence.path.map(printable).join(' → ')} = ${printable(evidence.value)}`);
  }
  return lines;
}

function fileLines(file: FileVerification): string[] {
  const lines = [`${printable(file.path)}: ${file.state ?? 'ERROR'}${file.format ? ` [${file.format}]` : ''}${file.error ? ` (${printable(file.error)})` : ''}`];
  if (file.sidecar) lines.push(`  manifest from sidecar ${printable(file.sidecar)}`);
  if (file.remoteManifest) lines.push(`  remote manifest ${printable(file.remoteManifest.url)}: ${file.remoteManifest.fetched ? 'fetched' : 'not fetched'}`);
  lines.push(...codeLines(file.codes.failure, '  '));
  lines.push(...codeLines(file.codes.informational, '  '));
  lines.push(...codeLines(file.codes.success.filter((code) => code.finding), '  '));
  if (file.disclosure && file.state !== 'NoManifest') lines.push(...disclosureLines(file.disclosure));
  for (const list of file.trustLists) lines.push(`  trust list ${list.name}: ${list.trusted ? 'signer chains to it' : 'not trusted'}`);
  if (file.activeManifest) lines.push(...manifestLines(file.activeManifest, '  '));
  if (file.softBinding?.match) {
    const match = file.softBinding.match;
    const clip = match.clipSimilarity === undefined ? '' : `, CLIP ${match.clipSimilarity.toFixed(3)} >= ${match.clipThreshold}`;
    lines.push(`  matches signed original ${match.recordId}, similarity ${match.similarity.toFixed(3)} (${match.method}, threshold ${match.threshold}${clip})`);
    lines.push(`  signed ${match.signedAt} as ${printable(match.signedPath)}; its manifest:`);
    lines.push(...manifestLines(match.manifest, '    '));
  } else if (file.softBinding?.error) {
    lines.push(`  soft-binding lookup skipped: ${printable(file.softBinding.error)}`);
  } else if (file.softBinding) {
    lines.push(`  no signed original in ${printable(file.softBinding.index)} looks like this image`);
  }
  return lines;
}

export function formatVerifyText(results: ProvenanceResults): string {
  const { summary } = results;
  const lines = results.files.flatMap((file) => [...fileLines(file), '']);
  const skipped = results.skipped ?? [];
  if (skipped.length > 0) {
    lines.push(`skipped ${skipped.length} file(s):`);
    for (const file of skipped) lines.push(`  ${printable(file.path)}: ${printable(file.reason)}`);
    lines.push('');
  }
  const levels = Object.entries(summary.disclosure ?? {})
    .filter(([level, count]) => count > 0 && level !== 'none')
    .map(([level, count]) => `${count} ${level}`)
    .join(', ');
  lines.push(
    `${summary.files} file(s) verified, ${summary.skipped ?? 0} skipped: ${summary.trusted} Trusted, ${summary.valid} Valid, ${summary.invalid} Invalid, ${summary.noManifest} NoManifest, ${summary.unreadable ?? 0} Unreadable, ${summary.errors} error(s); AI disclosed in ${summary.aiGenerated}${levels ? ` (${levels})` : ''}; ${summary.recovered} recovered by soft binding`,
  );
  return `${lines.join('\n')}\n`;
}

/** `vigil provenance trust`: each list, what it is for, and every certificate in it. */
export function formatTrustText(lists: readonly TrustList[]): string {
  const lines: string[] = [];
  for (const list of lists) {
    const title = list.title ? ` "${printable(list.title)}"${list.lastUpdated ? ` (updated ${printable(list.lastUpdated)})` : ''}` : '';
    lines.push(`${printable(list.name)}: ${list.purpose} trust list, ${list.format.toUpperCase()} ${printable(list.file)}${title}`);
    lines.push(`  ${list.anchors.length} anchor(s) (CA certificates a signer must chain to), ${list.allowed.length} allowed end-entity certificate(s)`);
    for (const cert of list.anchors) lines.push(`    anchor  ${printable(cert.subject.replace(/\n/g, ', '))} (valid to ${cert.validTo})`);
    for (const cert of list.allowed) lines.push(`    allowed ${printable(cert.subject.replace(/\n/g, ', '))} (valid to ${cert.validTo})`);
    for (const entry of list.skipped) lines.push(`    unusable: ${printable(entry)}`);
  }
  return `${lines.join('\n')}\n`;
}
