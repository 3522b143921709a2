import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { errorMessage, invalidArgument } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { resultsJson } from '../../core/results.js';
import { checkOutputFolder } from '../../core/output.js';
import { printable } from '../../core/printable.js';
import { createProgress } from '../../core/progress.js';
import { DEVICES, type Device } from '../../vision/types.js';
import { VERDICTS, type Verdict } from '../../screen/fusion.js';
import { DEFAULT_PROBE_PATH, saveProbe } from '../../screen/probe.js';
import type { ScreenEvalResults, ScreenTrainSummary } from '../../screen/result.js';
import { EvalScores, SCORES_FILE } from '../../screen/scores.js';
import type { runScreen } from '../../screen/run.js';
import type { ScreenerOptions } from '../../screen/screener.js';
import { SIGNALS } from '../../screen/signals/index.js';
import { isSignalId, SIGNAL_IDS, type SignalId } from '../../screen/signals/types.js';
import { action, commaList, EXIT, printJson } from '../run.js';

interface ScreenerFlags {
  probe?: string;
  signals?: string;
  clip?: string;
  mae?: string;
  device: string;
  cache: boolean;
  cacheDir?: string;
  workers: string;
}

function positiveNumber(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw invalidArgument(flag, integer ? 'a positive integer' : 'a positive number', value);
  }
  return n;
}

function rate(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n < 1)) throw invalidArgument(flag, 'a rate in (0, 1), e.g. 0.01', value);
  return n;
}

function parseSignals(value: string | undefined): SignalId[] | undefined {
  if (value === undefined) return undefined;
  const ids = commaList(value);
  for (const id of ids) if (!isSignalId(id)) throw invalidArgument('--signals', `a comma list of ${SIGNAL_IDS.join(', ')}`, id);
  if (ids.length === 0) throw invalidArgument('--signals', `a comma list of ${SIGNAL_IDS.join(', ')}`, value);
  return ids as SignalId[];
}

function device(value: string): Device {
  if (!(DEVICES as readonly string[]).includes(value)) throw invalidArgument('--device', `one of ${DEVICES.join(', ')}`, value);
  return value as Device;
}

/** Runs a step that reports its items and their total, behind a progress bar stopped however the step ends. */
async function withProgress<T>(label: string, quiet: boolean | undefined, step: (events: { onItem: () => void; onTotal: (total: number) => void }) => Promise<T>): Promise<T> {
  const progress = createProgress(label, { quiet });
  try {
    return await step({ onItem: () => progress.increment(), onTotal: (n) => progress.setTotal(n) });
  } finally {
    progress.stop();
  }
}

function screenerOptions(flags: ScreenerFlags): ScreenerOptions {
  return {
    probePath: flags.probe,
    signals: parseSignals(flags.signals),
    clipDir: flags.clip,
    maeDir: flags.mae,
    device: device(flags.device),
    cacheDir: flags.cache ? flags.cacheDir : false,
    workers: flags.workers === '0' ? 0 : positiveNumber('--workers', flags.workers, true),
  };
}

function screenerFlags(command: Command): Command {
  return command
    .option('--probe <file>', `probe from "vigil screen train" (default: the shipped ${DEFAULT_PROBE_PATH.split('/').slice(-3).join('/')})`)
    .option('--signals <list>', `signals to run, comma-separated: ${SIGNAL_IDS.join(', ')} (default: all the probe has)`)
    .option('--clip <dir>', "CLIP model folder (default: the probe's; must be the model it was trained with)")
    .option('--mae <dir>', "MAE model folder (default: the probe's)")
    .option('--device <device>', `execution provider: ${DEVICES.join(', ')}`, 'cpu')
    .option('--cache-dir <dir>', 'vision observation cache folder (default: $VIGIL_CACHE_DIR or .vigil-cache)')
    .option('--no-cache', 'neither read nor write the observation cache')
    .option('--workers <n>', 'worker threads for decoding and spectral analysis, for batches of 64+ images (0: main thread, which keeps up on 2 cores)', '0');
}

/**
 * report.html beside results.json. The results are complete without the page, so a rendering
 * problem is reported on stderr, not fatal. Returns the path written, if any.
 */
async function writeReportBeside(results: object, outDir: string): Promise<string | undefined> {
  try {
    return await (await import('../../report/render.js')).writeReport(results, outDir);
  } catch (error) {
    process.stderr.write(`vigil: report.html not written: ${errorMessage(error)}\n`);
    return undefined;
  }
}

interface FamilyFlags {
  leaveOneOut?: boolean;
  baseline?: string;
  trainReal?: string;
  trainFake?: string;
  calibration?: string;
  groups?: string;
  pairBy?: string;
}

/** --pair-by: "stem" (group images by file stem) or absent. */
function pairByFlag(value: string | undefined): 'stem' | undefined {
  if (value !== undefined && value !== 'stem') throw invalidArgument('--pair-by', 'stem', value);
  return value;
}

function printFamilies(families: NonNullable<ScreenEvalResults['families']>): void {
  const fmt = (e: { value: number; ci: [number, number] }): string => `${e.value.toFixed(3)} [${e.ci[0].toFixed(2)}, ${e.ci[1].toFixed(2)}]`;
  console.log(`\n${families.protocol} (trained here on ${families.train.real} real + ${families.train.fake} synthetic, thresholds on ${families.train.calibration} calibration images; pixel signals + metadata)`);
  console.log(['family', 'real', 'fake', 'vigil auc', 'durall auc', 'vigil tpr@1%fpr', 'durall tpr@1%fpr', 'vigil tpr@threshold'].join('\t'));
  for (const row of families.families) {
    console.log([row.family, row.real, row.fake, fmt(row.vigil.auc), fmt(row.durall.auc), fmt(row.vigil.tpr_at_1pct_fpr), fmt(row.durall.tpr_at_1pct_fpr), fmt(row.vigil.tpr_at_threshold)].join('\t'));
  }
}

/** One line saying which probe scored the run; the bundled default says it is a demonstration. */
function probeLine(summary: ScreenEvalResults['probe']): string {
  return summary.origin.kind === 'bundled-default' ? `probe: ${summary.origin.note}` : `probe: ${summary.path} (${summary.origin.note})`;
}

function printScreenTable(results: Awaited<ReturnType<typeof runScreen>>): void {
  console.log(probeLine(results.probe));
  for (const file of results.files) {
    if (file.status === 'error') {
      console.log(`${'error'.padEnd(16)} ${'-'.padStart(6)}  ${printable(file.file)}  (${printable(file.error)})`);
      continue;
    }
    console.log(`${file.verdict!.padEnd(16)} ${file.score!.toFixed(3).padStart(6)}  ${printable(file.file)}  (${printable(file.reasons[0])})`);
  }
  const v = results.summary.verdicts;
  console.log(`\n${results.summary.files} files: ${v['likely-synthetic']} likely-synthetic, ${v.uncertain} uncertain, ${v['no-evidence']} no-evidence, ${results.summary.errors} errors`);
}

function printEvalTable(results: ScreenEvalResults): void {
  console.log(probeLine(results.probe));
  const fmt = (e: { value: number; ci: [number, number] } | undefined): string => (e ? `${e.value.toFixed(3)} [${e.ci[0].toFixed(2)},${e.ci[1].toFixed(2)}]` : '-');
  console.log(`real ${results.dataset.realFiles}; ${results.dataset.generators.map((g) => `${g.name} ${g.files}`).join(', ')}; ${results.bootstrap.confidence * 100}% bootstrap CIs (${results.bootstrap.resamples} resamples)`);
  for (const condition of results.conditions) {
    console.log(`\n[${condition.perturbation}] ${condition.description}`);
    console.log(['generator', 'scorer', 'auc', 'ap', 'eer', 'accuracy', 'tpr@1%fpr', 'tpr@5%fpr'].join('\t'));
    for (const group of condition.groups) {
      for (const [scorer, m] of Object.entries(group.scorers)) {
        if (!m) continue;
        const x = m.metrics;
        console.log([group.generator, scorer, fmt(x.auc), fmt(x.ap), fmt(x.eer), fmt(x.accuracy), fmt(x.tpr_at_1pct_fpr), fmt(x.tpr_at_5pct_fpr)].join('\t'));
      }
    }
  }
  if (results.realisedFpr.length > 0) {
    console.log(`\nrealised false-positive rate by verdict on ${results.realisedFpr[0].real} real images (${results.bootstrap.confidence * 100}% Clopper-Pearson CI):`);
    for (const row of results.realisedFpr) {
      console.log(`  ${row.level}\ttarget ${(row.target * 100).toFixed(1)}%\t${row.falsePositives}/${row.real} = ${(row.rate * 100).toFixed(2)}% [${(row.ci[0] * 100).toFixed(2)}%, ${(row.ci[1] * 100).toFixed(2)}%]`);
    }
  }
  console.log(`out of distribution (verdict uncertain): ${results.outOfDistribution.real} real, ${results.outOfDistribution.fake} synthetic`);
  if (results.families) printFamilies(results.families);
  if (results.errors.length > 0) console.log(`\n${results.errors.length} files could not be scored (see results.json errors)`);
}

export function register(program: Command): void {
  const screen = program
    .command('screen')
    .description(
      'Screen images and videos for synthetic-media artifacts; train and evaluate the screener. ' +
        '"vigil screen <paths...>" is "vigil screen files <paths...>".',
    );
  screenerFlags(
    screen
      // The default subcommand, so `screen` and its subcommands keep their own --out/--json.
      .command('files', { isDefault: true })
      .description(
        'Screen images and videos (signals: ' +
          SIGNAL_IDS.map((id) => `${id} = ${SIGNALS[id].title}`).join('; ') +
          '). Verdicts: likely-synthetic, uncertain, no-evidence (never "authentic").',
      )
      .argument('<paths...>', 'image files, folders, globs or videos (mp4, mov, webm, mkv, ...)')
      .option('--out <dir>', 'write results.json, triage.csv, report.html and evidence images to this folder')
      .option('--no-report', 'do not write report.html beside results.json')
      .option('--json', 'print the results document on stdout')
      .option('--csv', 'print the triage CSV (sorted by score) on stdout')
      .option('--fps <n>', 'video: frames sampled per second', '2')
      .option('--top-k <n>', "video: frames averaged into the video's score (the highest-scoring ones)", '3')
      .option('--max-frames <n>', 'video: stop after this many sampled frames')
      .option('--ffmpeg <path>', 'video: ffmpeg executable', 'ffmpeg')
      .option('--fail-on <verdict>', `exit 1 when any file gets this verdict or a stronger one (${VERDICTS.slice(0, 2).join(', ')})`)
      .option('--queue <url>', 'score on `vigil worker` processes through Redis (redis://host:port); no evidence images')
      .option('--follow-symlinks', 'follow symbolic links out of the given folders (default: links leaving a folder are skipped)'),
  ).action(
    action(async (paths: string[], flags: ScreenerFlags & { out?: string; json?: boolean; csv?: boolean; report: boolean; fps: string; topK: string; maxFrames?: string; ffmpeg: string; failOn?: string; queue?: string; followSymlinks?: boolean }) => {
      if (flags.json && flags.csv) throw invalidArgument('--json/--csv', 'at most one of them', 'both');
      if (flags.out !== undefined) await checkOutputFolder(flags.out);
      const failOn = flags.failOn;
      if (failOn !== undefined && !(['likely-synthetic', 'uncertain'] as string[]).includes(failOn)) {
        throw invalidArgument('--fail-on', 'likely-synthetic or uncertain', failOn);
      }
      // Models, ffmpeg handling and the queue client load only when a screen runs.
      const { runScreen, triageCsv } = await import('../../screen/run.js');
      const { createScreener } = await import('../../screen/screener.js');
      const { createQueuedScreener } = await import('../../queue/screener.js');
      const video = {
        fps: positiveNumber('--fps', flags.fps, false),
        topK: positiveNumber('--top-k', flags.topK, true),
        maxFrames: flags.maxFrames === undefined ? undefined : positiveNumber('--max-frames', flags.maxFrames, true),
        ffmpeg: flags.ffmpeg,
      };
      const queued = flags.queue === undefined ? undefined : await createQueuedScreener(flags.queue, screenerOptions(flags));
      const screener = queued ?? (await createScreener(screenerOptions(flags)));
      let results;
      try {
        results = await withProgress('screen', flags.json || flags.csv, (events) =>
          runScreen(screener, paths, { outDir: flags.out === undefined ? undefined : resolve(flags.out), video, followSymlinks: flags.followSymlinks === true, ...events }),
        );
      } finally {
        await screener.release();
      }
      let report: string | undefined;
      if (flags.out !== undefined) {
        results.csv = 'triage.csv';
        await writeFileAtomic(join(flags.out, 'triage.csv'), triageCsv(results));
        await writeFileAtomic(join(flags.out, 'results.json'), resultsJson(results));
        if (flags.report) report = await writeReportBeside(results, flags.out);
      }
      if (flags.json) printJson(results);
      else if (flags.csv) process.stdout.write(triageCsv(results));
      else {
        printScreenTable(results);
        if (flags.out !== undefined) console.log(`results: ${join(flags.out, 'results.json')}, triage: ${join(flags.out, 'triage.csv')}${report ? `, report: ${report}` : ''}`);
      }
      if (queued !== undefined && queued.failedJobs() > 0) {
        process.stderr.write(`vigil: ${queued.failedJobs()} queued job(s) failed (dead-lettered or results refused); their files are recorded as errors\n`);
        return EXIT.inputError;
      }
      if (results.summary.errors === results.summary.files) return EXIT.inputError;
      if (failOn !== undefined) {
        const failing: Verdict[] = failOn === 'uncertain' ? ['likely-synthetic', 'uncertain'] : ['likely-synthetic'];
        if (results.files.some((f) => f.verdict !== null && failing.includes(f.verdict))) return EXIT.verdictFail;
      }
      return EXIT.ok;
    }),
  );

  screen
    .command('train')
    .description('Train the screening probe: spectral model, CLIP probe, MAE normalisation, calibration, fusion and thresholds')
    .requiredOption('--real <dirs>', 'folders of real (captured) images, comma-separated')
    .requiredOption('--fake <dirs>', 'folders of synthetic images, comma-separated')
    .requiredOption('--out <file>', 'probe file to write (JSON)')
    .option('--calibration <dirs>', 'real images to set the thresholds on, never trained on (held-out photographs like those you will screen), comma-separated')
    .option('--groups <csv>', 'CSV with columns file,group (paths relative to the CSV): images of one group (a photo and its altered copies) share a fold')
    .option('--pair-by <key>', 'group images by "stem": an image and its altered copies share a file name in different folders')
    .option('--model <dir>', 'CLIP model folder for the clip-probe signal (omit to train without it)')
    .option('--mae <dir>', 'MAE model folder for the mae-recon signal (omit to train without it)')
    .option('--seed <n>', 'seed of the cross-validation folds and MAE masks', '0')
    .option('--folds <n>', 'cross-validation folds (C selection, held-out calibration and thresholds)', '5')
    .option('--target-fpr <rate>', 'false-positive rate of likely-synthetic on real images', '0.01')
    .option('--uncertain-fpr <rate>', 'false-positive rate of uncertain-or-worse on real images', '0.1')
    .option('--masks <n>', 'MAE masks averaged per image', '4')
    .option('--device <device>', `execution provider: ${DEVICES.join(', ')}`, 'cpu')
    .option('--cache-dir <dir>', 'vision observation cache folder')
    .option('--no-cache', 'neither read nor write the observation cache')
    .option('--json', 'print the training summary as JSON')
    .action(
      action(async (flags: { real: string; fake: string; out: string; calibration?: string; groups?: string; pairBy?: string; model?: string; mae?: string; seed: string; folds: string; targetFpr: string; uncertainFpr: string; masks: string; device: string; cache: boolean; cacheDir?: string; json?: boolean }) => {
        const seed = Number(flags.seed);
        if (!Number.isInteger(seed)) throw invalidArgument('--seed', 'an integer', flags.seed);
        const { trainProbe } = await import('../../screen/train.js');
        const pairBy = pairByFlag(flags.pairBy);
        const probe = await withProgress('train', flags.json, (events) =>
          trainProbe({
            realDirs: commaList(flags.real),
            fakeDirs: commaList(flags.fake),
            calibrationDirs: flags.calibration === undefined ? undefined : commaList(flags.calibration),
            groupsCsv: flags.groups,
            pairBy,
            clipDir: flags.model,
            maeDir: flags.mae,
            seed,
            folds: positiveNumber('--folds', flags.folds, true),
            targetFpr: rate('--target-fpr', flags.targetFpr),
            uncertainFpr: rate('--uncertain-fpr', flags.uncertainFpr),
            maeMasks: positiveNumber('--masks', flags.masks, true),
            device: device(flags.device),
            cacheDir: flags.cache ? flags.cacheDir : false,
            ...events,
          }),
        );
        await saveProbe(flags.out, probe);
        const full = probe.fusion.subsets.find((s) => s.signals.length === probe.signals.length)!;
        const summary: ScreenTrainSummary = {
          probe: flags.out,
          trainingSet: { sha256: probe.trainingSet.sha256, real: probe.trainingSet.real, fake: probe.trainingSet.fake, skipped: probe.trainingSet.skipped.length },
          signals: probe.signals,
          validation: probe.validation,
          thresholds: full.thresholds,
          thresholdsFrom: probe.calibrationSet ? 'calibration-set' : 'training-folds',
          grouping: probe.grouping,
          warnings: probe.warnings,
        };
        for (const warning of probe.warnings) process.stderr.write(`vigil: warning: ${warning}\n`);
        if (flags.json) {
          printJson(summary);
          return EXIT.ok;
        }
        console.log(`trained ${probe.signals.join(', ')} on ${probe.trainingSet.real} real + ${probe.trainingSet.fake} fake images (${probe.trainingSet.skipped.length} skipped) -> ${flags.out}`);
        console.log(`folds: ${probe.grouping.method}${probe.grouping.method === 'stratified' ? '' : ` (${probe.grouping.groups} groups)`}`);
        console.log('out-of-fold validation:\tauc\tap\teer\ttpr@1%fpr\ttpr@5%fpr');
        for (const [id, m] of Object.entries(probe.validation)) {
          if (m) console.log(`  ${id}\t${m.auc.toFixed(3)}\t${m.ap.toFixed(3)}\t${m.eer.toFixed(3)}\t${m.tpr_at_1pct_fpr.toFixed(3)}\t${m.tpr_at_5pct_fpr.toFixed(3)}`);
        }
        console.log(
          `thresholds: likely-synthetic > ${full.thresholds.likelySynthetic.toFixed(4)} (${probe.fusion.targetFpr * 100}% FPR), uncertain > ${full.thresholds.uncertain.toFixed(4)} (${probe.fusion.uncertainFpr * 100}% FPR), ` +
            (probe.calibrationSet ? `set on ${probe.calibrationSet.real} held-out calibration images (split conformal)` : 'cross-fitted on the training images (pass --calibration to set them on held-out real images)'),
        );
        return EXIT.ok;
      }),
    );

  screenerFlags(
    screen
      .command('eval')
      .description('Measure the screener on labeled folders: AUC, AP, EER, accuracy, TPR at 1%/5% FPR per signal, fused and per generator, with bootstrap CIs')
      .requiredOption('--real <dirs>', 'folders of real images, comma-separated')
      .requiredOption('--fake <dirs>', 'folders of synthetic images, comma-separated: one generator per folder, or per subfolder of a folder without images of its own')
      .option('--robustness', 'also re-score after JPEG q90/75/50, resize 0.5, centre crop 0.9 and Gaussian blur sigma 1')
      .option('--leave-one-out', 'cross-family matrix: for each family of --fake, train on --train-fake without it, test on it (needs --train-real/--train-fake, one subfolder per family)')
      .option('--baseline <name>', 'also train the Durall et al. 2020 baseline ("durall") and vigil\'s pixel signals on --train-real/--train-fake and report both side by side')
      .option('--train-real <dirs>', 'real training images for --leave-one-out/--baseline, comma-separated')
      .option('--train-fake <dirs>', 'synthetic training images for --leave-one-out/--baseline: one subfolder per family, comma-separated')
      .option('--calibration <dirs>', 'held-out real images the --leave-one-out/--baseline probes set their thresholds on')
      .option('--groups <csv>', 'file,group CSV for the group-aware folds of --leave-one-out/--baseline training')
      .option('--pair-by <key>', '"stem": group training images by file stem')
      .option('--bootstrap <n>', 'bootstrap resamples for the confidence intervals', '1000')
      .option('--confidence <level>', 'confidence level of the intervals', '0.95')
      .option('--seed <n>', 'bootstrap seed', '0')
      .option('--out <dir>', 'write results.json, scores.csv (every file, label, signal scores, per perturbation) and report.html to this folder')
      .option('--no-report', 'do not write report.html beside results.json')
      .option('--json', 'print the results document on stdout'),
  ).action(
    action(async (flags: ScreenerFlags & FamilyFlags & { real: string; fake: string; robustness?: boolean; bootstrap: string; confidence: string; seed: string; out?: string; json?: boolean; report: boolean }) => {
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw invalidArgument('--seed', 'an integer', flags.seed);
      if (flags.out !== undefined) await checkOutputFolder(flags.out);
      if (flags.baseline !== undefined && flags.baseline !== 'durall') throw invalidArgument('--baseline', 'durall', flags.baseline);
      const pairBy = pairByFlag(flags.pairBy);
      const familyRun = flags.leaveOneOut === true || flags.baseline !== undefined;
      if (familyRun && (flags.trainReal === undefined || flags.trainFake === undefined)) {
        throw invalidArgument('--train-real/--train-fake', 'training folders for --leave-one-out/--baseline', 'none');
      }
      const { createScreener } = await import('../../screen/screener.js');
      const { evaluate } = await import('../../screen/eval.js');
      const screener = await createScreener(screenerOptions(flags));
      const scores = new EvalScores();
      let results;
      let report: string | undefined;
      try {
        results = await withProgress('eval', flags.json, (events) =>
          evaluate(screener, {
            onResult: scores.record,
            realDirs: commaList(flags.real),
            fakeDirs: commaList(flags.fake),
            robustness: flags.robustness === true,
            bootstrap: { resamples: positiveNumber('--bootstrap', flags.bootstrap, true), confidence: rate('--confidence', flags.confidence), seed },
            ...events,
          }),
        );
      } finally {
        await screener.release();
      }
      if (familyRun) {
        const { evaluateFamilies } = await import('../../screen/families.js');
        results.families = await withProgress(flags.leaveOneOut ? 'leave-one-out' : 'baseline', flags.json, (events) =>
          evaluateFamilies({
            trainRealDirs: commaList(flags.trainReal!),
            trainFakeDirs: commaList(flags.trainFake!),
            calibrationDirs: flags.calibration === undefined ? undefined : commaList(flags.calibration),
            testRealDirs: commaList(flags.real),
            testFakeDirs: commaList(flags.fake),
            groupsCsv: flags.groups,
            pairBy,
            seed,
            folds: 5,
            targetFpr: results.probe.targetFpr,
            uncertainFpr: results.probe.uncertainFpr,
            bootstrap: results.bootstrap,
            leaveOneOut: flags.leaveOneOut === true,
            ...events,
          }),
        );
      }
      if (flags.out !== undefined) {
        await scores.write(flags.out);
        await writeFileAtomic(join(flags.out, 'results.json'), resultsJson(results));
        // After scores.csv: the report draws its ROC and precision-recall curves from it.
        if (flags.report) report = await writeReportBeside(results, flags.out);
      }
      if (flags.json) printJson(results);
      else {
        printEvalTable(results);
        if (flags.out !== undefined) console.log(`\nresults: ${join(flags.out, 'results.json')}, scores: ${join(flags.out, SCORES_FILE)}${report ? `, report: ${report}` : ''}`);
      }
      return EXIT.ok;
    }),
  );
}
