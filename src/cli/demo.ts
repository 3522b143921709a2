import { existsSync } from 'node:fs';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { writeBiasOutputs } from '../bias/output.js';
import type { BiasResult } from '../bias/result.js';
import { runBias } from '../bias/run.js';
import { loadSpec } from '../bias/spec.js';
import { VigilInputError } from '../core/errors.js';
import { writeFileAtomic } from '../core/files.js';
import { resultEnvelope, resultsJson } from '../core/results.js';
import { PACKAGE_ROOT } from '../core/version.js';
import { loadSigningCredentials } from '../provenance/credentials.js';
import { generateDevCredentials } from '../provenance/keygen.js';
import type { ProvenanceResults } from '../provenance/result.js';
import { signImage } from '../provenance/sign.js';
import { loadTrustList } from '../provenance/trust.js';
import { verifyPaths } from '../provenance/verify.js';
import { evaluate } from '../screen/eval.js';
import type { ScreenEvalResults } from '../screen/result.js';
import { createScreener } from '../screen/screener.js';
import { EvalScores } from '../screen/scores.js';
import { formatMetric, formatMetricInterval, metricMeta } from '../core/metric-meta.js';
import { verdictInfo } from '../report/helpers.js';
import { biasHeadline } from '../report/modules/bias.js';
import { provenanceHeadline } from '../report/modules/provenance.js';
import { screenEvalHeadline } from '../report/modules/screen-eval.js';
import { renderReport, writeReport } from '../report/render.js';
import type { DemoReportEntry, DemoResult } from '../report/result.js';

/**
 * `vigil demo`: the three audits of vigil, end to end, on the fixtures shipped in the package (tiny
 * trained models and synthetic images), each writing results.json + report.html, and an index
 * page linking them. It calls the audits' library functions directly, as a user's script would,
 * and then the report layer, which only renders what the audits wrote.
 */

/** A package path relative to the current folder when inside it, so results read naturally. */
function relativeToHere(absolute: string): string {
  const fromHere = relative(process.cwd(), absolute);
  return fromHere.startsWith('..') || isAbsolute(fromHere) ? absolute : fromHere;
}

function fixture(...parts: string[]): string {
  return relativeToHere(join(PACKAGE_ROOT, 'fixtures', ...parts));
}

function requireFixture(path: string): string {
  if (!existsSync(path)) {
    throw new VigilInputError(`The demo needs the bundled fixture ${path}, which is missing: run it from a complete vigil checkout or package`, {
      subject: path,
    });
  }
  return path;
}

/**
 * The bias audit the demo runs: the example spec shipped in audits/ (the tiny ViT on the probe set
 * where a tone bias was planted in training), so the report names a spec a user can re-run.
 */
export const DEMO_BIAS_SPEC = join(PACKAGE_ROOT, 'audits', 'classification.yaml');

interface Step<R> {
  result: R;
  seconds: number;
}

async function timed<R>(fn: () => Promise<R>): Promise<Step<R>> {
  const start = performance.now();
  const result = await fn();
  return { result, seconds: (performance.now() - start) / 1000 };
}

async function writeResults(dir: string, results: object): Promise<void> {
  await writeFileAtomic(join(dir, 'results.json'), resultsJson(results));
  await writeReport(results, dir);
}

async function runBiasStep(outDir: string, quiet: boolean): Promise<BiasResult> {
  const loaded = await loadSpec(requireFixture(relativeToHere(DEMO_BIAS_SPEC)));
  requireFixture(resolve(loaded.baseDir, loaded.spec.probe_set?.path ?? ''));
  requireFixture(resolve(loaded.baseDir, loaded.spec.model ?? ''));
  // The demo caches nothing: it must show the same work on a fresh clone and on a re-run.
  const { result, observations } = await runBias(loaded, { quiet, cacheDir: false });
  const dir = join(outDir, 'bias');
  await writeBiasOutputs(dir, result, observations);
  await writeReport(result, dir);
  return result;
}

async function runScreenStep(outDir: string): Promise<ScreenEvalResults> {
  const screener = await createScreener({ cacheDir: false });
  // scores.csv beside results.json, as `vigil screen eval --out` writes it: the report draws its ROC and PR curves from it.
  const scores = new EvalScores();
  try {
    const results = await evaluate(screener, {
      onResult: scores.record,
      realDirs: [requireFixture(fixture('screen', 'heldout', 'real'))],
      fakeDirs: [requireFixture(fixture('screen', 'heldout', 'fake'))],
      robustness: true,
      bootstrap: { resamples: 1000, confidence: 0.95, seed: 0 },
    });
    const dir = join(outDir, 'screen-eval');
    await scores.write(dir);
    await writeResults(dir, results);
    return results;
  } finally {
    await screener.release();
  }
}

/**
 * The tampering of the demo: a PNG text chunk inserted before IEND after signing. The image still
 * opens, but its bytes no longer match the signed hash (what an "innocent" metadata edit does).
 */
function withPngComment(png: Buffer, keyword: string, text: string): Buffer {
  const iend = png.lastIndexOf(Buffer.from('IEND', 'latin1')) - 4;
  if (iend < 8) throw new Error('the signed demo image is not a PNG');
  const type = Buffer.from('tEXt', 'latin1');
  const data = Buffer.from(`${keyword}\0${text}`, 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, data])));
  return Buffer.concat([png.subarray(0, iend), length, type, data, crc, png.subarray(iend)]);
}

/**
 * Signs a generated image as AI-generated with throw-away credentials, then verifies it with the
 * throw-away CA as a trust list, together with a tampered copy and an unsigned photo: one file in
 * each of Trusted, Invalid and NoManifest.
 */
async function runProvenanceStep(outDir: string, quiet: boolean): Promise<ProvenanceResults> {
  const dir = join(outDir, 'provenance');
  const keys = await generateDevCredentials({ outDir: join(dir, 'dev-credentials'), organization: 'vigil demo', overwrite: true });
  const signer = await loadSigningCredentials({ certPath: keys.files.signerChain, keyPath: keys.files.signerKey });
  const signed = join(dir, 'generated.signed.png');
  await signImage({
    input: requireFixture(fixture('screen', 'heldout', 'fake', 'nnconv', 'nnconv-heldout-000.png')),
    output: signed,
    signer,
    generator: 'vigil-demo-generator 1.0',
    title: 'Image made by the demo generator',
  });
  const tampered = join(dir, 'generated.tampered.png');
  await writeFile(tampered, withPngComment(await readFile(signed), 'Comment', 'edited after signing'));
  const unsigned = join(dir, 'camera-photo.jpg');
  await copyFile(requireFixture(fixture('screen', 'heldout', 'real', 'real-heldout-000.jpg')), unsigned);
  const trust = await loadTrustList('demo-ca', keys.files.caCert);
  const results = await verifyPaths([signed, tampered, unsigned], { trustLists: [trust], quiet });
  await writeResults(dir, results);
  return results;
}

function biasEntry(result: BiasResult, seconds: number): DemoReportEntry {
  const failed = result.verdicts.filter((v) => v.status === 'fail').length;
  const feature = result.audits[0]?.features.find((f) => f.components.length === 1 && f.largest_disparity);
  const largest = feature?.largest_disparity;
  // Its interval, when the same difference is one of the feature's disparities.
  const ci = largest ? (feature?.disparities[`${largest.metric}_difference`]?.ci ?? null) : null;
  return {
    schema: result.schema,
    title: 'Bias audit',
    description: `The bundled ViT shape classifier on a probe set where a tone bias was planted in training, disaggregated with bootstrap confidence intervals and checked against the thresholds of ${relativeToHere(DEMO_BIAS_SPEC)}.`,
    report: 'bias/report.html',
    results: 'bias/results.json',
    verdict: result.verdict,
    headline: biasHeadline(result),
    highlights: [
      { label: 'Thresholds failed', value: `${failed} of ${result.verdicts.length}` },
      ...(largest
        ? [
            {
              label: `Largest gap: ${metricMeta(largest.metric).label.toLowerCase()}`,
              value: `${formatMetric(`${largest.metric}_difference`, largest.difference)}${ci ? ` ${formatMetricInterval(`${largest.metric}_difference`, ci)}` : ''}, ${largest.groups.join(' vs ')}`,
            },
          ]
        : []),
      { label: 'Images', value: String(result.probe_set?.n_rows ?? 0) },
    ],
    seconds,
  };
}

function screenEntry(result: ScreenEvalResults, seconds: number): DemoReportEntry {
  const fused = (condition: ScreenEvalResults['conditions'][number]) => condition.groups.find((g) => g.generator === 'all')?.scorers.fused;
  const base = result.conditions[0] ? fused(result.conditions[0]) : undefined;
  return {
    schema: result.schema,
    title: 'Synthetic-media screening evaluation',
    description: 'The default screen (spectral and metadata signals) on held-out real photos and two trained generators, with robustness to re-encoding, resizing, cropping and blur.',
    report: 'screen-eval/report.html',
    results: 'screen-eval/results.json',
    headline: screenEvalHeadline(result),
    highlights: base
      ? [
          { label: 'AUC (fused)', value: `${formatMetric('auc', base.metrics.auc.value)} ${formatMetricInterval('auc', base.metrics.auc.ci)}` },
          { label: 'Synthetic caught at 1% of real flagged', value: `${formatMetric('tpr_at_1pct_fpr', base.metrics.tpr_at_1pct_fpr.value)} ${formatMetricInterval('tpr_at_1pct_fpr', base.metrics.tpr_at_1pct_fpr.ci)}` },
        ]
      : [],
    seconds,
  };
}

function provenanceEntry(result: ProvenanceResults, seconds: number): DemoReportEntry {
  return {
    schema: result.schema,
    title: 'C2PA provenance: sign and verify',
    description: 'A generated image signed as AI-generated with throw-away credentials, verified against their CA as a trust list, beside a tampered copy and an unsigned photo.',
    report: 'provenance/report.html',
    results: 'provenance/results.json',
    headline: provenanceHeadline(result),
    highlights: result.files.map((file) => ({ label: file.path.split(/[\\/]/).pop() ?? file.path, value: verdictInfo(file.state ?? 'error').text })),
    seconds,
  };
}

export async function runDemo(outDir: string, options: { quiet: boolean }): Promise<DemoResult> {
  const start = performance.now();
  const say = (message: string) => {
    if (!options.quiet) process.stderr.write(`vigil demo: ${message}\n`);
  };
  // Earlier demo output is replaced as a whole, so the index never links a stale report.
  for (const part of ['bias', 'screen-eval', 'provenance']) await rm(join(outDir, part), { recursive: true, force: true });

  say(`bias audit ${relativeToHere(DEMO_BIAS_SPEC)}…`);
  const bias = await timed(() => runBiasStep(outDir, options.quiet));
  say('screening evaluation with robustness perturbations…');
  const screen = await timed(() => runScreenStep(outDir));
  say('signing and verifying C2PA provenance…');
  const provenance = await timed(() => runProvenanceStep(outDir, options.quiet));

  const index: DemoResult = {
    ...resultEnvelope('demo'),
    schema: 'vigil/demo',
    reports: [biasEntry(bias.result, bias.seconds), screenEntry(screen.result, screen.seconds), provenanceEntry(provenance.result, provenance.seconds)],
    seconds: (performance.now() - start) / 1000,
  };
  await writeFileAtomic(join(outDir, 'results.json'), resultsJson(index));
  await writeFileAtomic(join(outDir, 'index.html'), await renderReport(index, { baseDir: outDir }));
  return index;
}
