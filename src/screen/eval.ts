import { readdir } from 'node:fs/promises';
import { IMAGE_EXTENSIONS } from '../core/extensions.js';
import { MAX_DOCUMENT_BYTES, readInputFile } from '../core/files.js';
import { basename, dirname, extname, join } from 'node:path';
import { VigilInputError, errorMessage, invalidArgument } from '../core/errors.js';
import { resultEnvelope } from '../core/results.js';
import { listImageFiles } from '../vision/index.js';
import { scorerCurves } from './curves.js';
import { binomialInterval, bootstrapMetrics, type BootstrapOptions } from './metrics.js';
import { PERTURBATIONS } from './perturb.js';
import { portablePath } from './probe.js';
import type { EvalCondition, EvalGroup, RealisedFpr, ScreenEvalResults, ScreenFileResult, ScorerMetrics } from './result.js';
import type { Screener } from './screener.js';
import type { SignalId } from './signals/types.js';

/** Folder names that are splits, not generators: a generator folder "tconv/heldout" is named "tconv". */
const SPLIT_NAMES = new Set(['train', 'training', 'heldout', 'held-out', 'test', 'val', 'valid', 'validation', 'eval']);

export interface GeneratorSet {
  name: string;
  dirs: string[];
  files: string[];
}

async function hasDirectImages(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.some((e) => e.isFile() && (IMAGE_EXTENSIONS as readonly string[]).includes(extname(e.name).slice(1).toLowerCase()));
}

/**
 * Generators of the --fake folders: a folder with images of its own is one generator; a folder
 * holding only subfolders has one generator per subfolder ("one fake dir or subfolder per generator").
 */
export async function resolveGenerators(fakeDirs: readonly string[]): Promise<GeneratorSet[]> {
  const byName = new Map<string, GeneratorSet>();
  const add = async (name: string, dir: string): Promise<void> => {
    const { files } = await listImageFiles([dir]);
    if (files.length === 0) return;
    const set = byName.get(name) ?? { name, dirs: [], files: [] };
    set.dirs.push(dir);
    set.files.push(...files);
    byName.set(name, set);
  };
  for (const dir of fakeDirs) {
    const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
      throw new VigilInputError(`--fake ${dir}: cannot read folder (${errorMessage(error)})`, { subject: dir });
    });
    const subdirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.'));
    if (!(await hasDirectImages(dir)) && subdirs.length > 0) {
      for (const sub of subdirs.sort((a, b) => a.name.localeCompare(b.name))) await add(sub.name, join(dir, sub.name));
    } else {
      const base = basename(dir.replace(/[\\/]+$/, ''));
      await add(SPLIT_NAMES.has(base.toLowerCase()) ? basename(dirname(dir.replace(/[\\/]+$/, ''))) : base, dir);
    }
  }
  const generators = [...byName.values()];
  if (generators.length === 0) throw new VigilInputError(`--fake: no images found in ${fakeDirs.join(', ')}`, { subject: 'fake' });
  return generators;
}

/** A labeled file of an evaluation: label 1 is synthetic, made by `generator` (null for real files). */
export interface EvalFile {
  path: string;
  label: 0 | 1;
  generator: string | null;
}

export interface EvalOptions {
  realDirs: string[];
  fakeDirs: string[];
  robustness: boolean;
  bootstrap: BootstrapOptions;
  onItem?: () => void;
  onTotal?: (total: number) => void;
  /** Every scored file, per condition (for a per-file scores table). */
  onResult?: (perturbation: string, file: EvalFile, result: ScreenFileResult) => void;
}

interface LabeledResult {
  result: ScreenFileResult;
  label: 0 | 1;
  generator: string | null;
}

function scorerMetrics(items: readonly LabeledResult[], scorer: SignalId | 'fused', threshold: number, bootstrap: BootstrapOptions): ScorerMetrics | undefined {
  const score = (item: LabeledResult): number | undefined =>
    item.result.status !== 'ok' ? undefined : scorer === 'fused' ? (item.result.score ?? undefined) : item.result.signals[scorer]?.score;
  const real = items.filter((i) => i.label === 0).map(score).filter((s): s is number => s !== undefined);
  const fake = items.filter((i) => i.label === 1).map(score).filter((s): s is number => s !== undefined);
  if (real.length < 2 || fake.length < 2) return undefined;
  return { real: real.length, fake: fake.length, threshold, metrics: bootstrapMetrics({ real, fake }, threshold, bootstrap) };
}

/** Metrics per generator ("all" first), per signal and fused. */
export function evaluateGroups(items: readonly LabeledResult[], generators: readonly string[], screener: Screener, bootstrap: BootstrapOptions): EvalGroup[] {
  const full = screener.probe.fusion.subsets.find((s) => s.signals.length === screener.signals.length && s.signals.every((id) => screener.signals.includes(id)));
  const fusedThreshold = full?.thresholds.likelySynthetic ?? 0.5;
  const groups: EvalGroup[] = [];
  const realItems = items.filter((i) => i.label === 0);
  for (const generator of ['all', ...(generators.length > 1 ? generators : [])]) {
    const fakes = items.filter((i) => i.label === 1 && (generator === 'all' || i.generator === generator));
    const members = [...realItems, ...fakes];
    const scorers: EvalGroup['scorers'] = {};
    for (const id of screener.signals) {
      const metrics = scorerMetrics(members, id, 0.5, bootstrap);
      if (metrics) scorers[id] = metrics;
    }
    const fused = scorerMetrics(members, 'fused', fusedThreshold, bootstrap);
    if (fused) scorers.fused = fused;
    groups.push({ generator, real: realItems.length, fake: fakes.length, scorers });
  }
  return groups;
}

/** False positives by verdict on the real images, with Clopper-Pearson intervals. */
export function realisedFpr(items: readonly LabeledResult[], targets: { targetFpr: number; uncertainFpr: number }, confidence: number): RealisedFpr[] {
  const real = items.filter((i) => i.label === 0 && i.result.status === 'ok');
  if (real.length === 0) return [];
  const count = (verdicts: readonly string[]): number => real.filter((i) => verdicts.includes(i.result.verdict ?? '')).length;
  return [
    { level: 'likely-synthetic' as const, target: targets.targetFpr, falsePositives: count(['likely-synthetic']) },
    { level: 'uncertain-or-worse' as const, target: targets.uncertainFpr, falsePositives: count(['likely-synthetic', 'uncertain']) },
  ].map((row) => ({ ...row, real: real.length, rate: row.falsePositives / real.length, ci: binomialInterval(row.falsePositives, real.length, confidence) }));
}

/**
 * `vigil screen eval`: scores labeled real and fake folders with the screener and reports AUC, AP,
 * EER, accuracy, TPR at 1%/5% FPR per signal and fused, per generator, with stratified bootstrap
 * CIs; with robustness, the same after each perturbation.
 */
export async function evaluate(screener: Screener, options: EvalOptions): Promise<ScreenEvalResults> {
  if (options.realDirs.length === 0) throw invalidArgument('--real', 'one or more folders', options.realDirs);
  const { files: realFiles, unmatched } = await listImageFiles(options.realDirs);
  if (unmatched.length > 0 || realFiles.length === 0) throw new VigilInputError(`--real: no images found in ${(unmatched.length ? unmatched : options.realDirs).join(', ')}`, { subject: 'real' });
  const generators = await resolveGenerators(options.fakeDirs);
  const labeled: { file: string; label: 0 | 1; generator: string | null }[] = [
    ...realFiles.map((file) => ({ file, label: 0 as const, generator: null })),
    ...generators.flatMap((g) => g.files.map((file) => ({ file, label: 1 as const, generator: g.name }))),
  ];
  const perturbations = options.robustness ? PERTURBATIONS : [];
  options.onTotal?.(labeled.length * (1 + perturbations.length));
  const errors: ScreenEvalResults['errors'] = [];
  const conditions: EvalCondition[] = [];
  const generatorNames = generators.map((g) => g.name);

  let fpr: RealisedFpr[] = [];
  const outOfDistribution = { real: 0, fake: 0 };
  const runCondition = async (id: string, description: string, inputs: Parameters<Screener['screen']>[0]): Promise<void> => {
    const results = await screener.screen(inputs, { onItem: options.onItem });
    const items = results.map((result, i) => ({ result, label: labeled[i].label, generator: labeled[i].generator }));
    if (id === 'none') {
      fpr = realisedFpr(items, screener.probe.fusion, options.bootstrap.confidence);
      for (const item of items) if (item.result.distribution && !item.result.distribution.inDistribution) outOfDistribution[item.label === 0 ? 'real' : 'fake']++;
    }
    items.forEach((item, i) => {
      options.onResult?.(id, { path: labeled[i].file, label: labeled[i].label, generator: labeled[i].generator }, item.result);
      if (item.result.status === 'error') errors.push({ perturbation: id, file: labeled[i].file, error: item.result.error ?? 'unknown error' });
    });
    const groups = evaluateGroups(items, generatorNames, screener, options.bootstrap);
    // ROC/PR points of the unperturbed files, all generators, go into the results (src/screen/curves.ts).
    const all = groups.find((group) => group.generator === 'all');
    if (id === 'none' && all) {
      for (const [scorer, points] of Object.entries(scorerCurves(items, ['fused', ...screener.signals]))) {
        const metrics = all.scorers[scorer as keyof EvalGroup['scorers']];
        if (metrics) metrics.curves = points;
      }
    }
    conditions.push({ perturbation: id, description, groups });
  };

  await runCondition('none', 'Files as given', labeled.map((l) => l.file));
  if (perturbations.length > 0) {
    const originals = await Promise.all(labeled.map((l) => readInputFile(l.file, { what: 'image', maxBytes: MAX_DOCUMENT_BYTES }).catch(() => undefined)));
    for (const perturbation of perturbations) {
      const inputs = await Promise.all(
        labeled.map(async (l, i) => {
          const name = `${l.file}#${perturbation.id}`;
          const bytes = originals[i];
          if (!bytes) return { name, bytes: new Uint8Array(0) };
          // An image the perturbation cannot process is recorded by the screener as undecodable.
          return { name, bytes: await perturbation.apply(bytes).catch(() => new Uint8Array(0)) };
        }),
      );
      await runCondition(perturbation.id, perturbation.description, inputs);
    }
  }
  return {
    ...resultEnvelope('screen-eval'),
    schema: 'vigil/screen-eval',
    probe: screener.summary,
    dataset: {
      realDirs: options.realDirs.map(portablePath),
      generators: generators.map((g) => ({ name: g.name, dirs: g.dirs.map(portablePath), files: g.files.length })),
      realFiles: realFiles.length,
    },
    bootstrap: options.bootstrap,
    signals: screener.signals,
    conditions,
    realisedFpr: fpr,
    outOfDistribution,
    errors,
  };
}
