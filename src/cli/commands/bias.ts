/**
 * `vigil bias <spec>` runs an audit spec; `vigil bias --predictions preds.csv ...` audits
 * predictions made elsewhere with no spec; `vigil probes check <path>` validates a probe set.
 */
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { VigilInputError, errorMessage, invalidArgument } from '../../core/errors.js';
import { sha256Hex } from '../../core/files.js';
import { PROBE_FORMATS, type ProbeFormat } from '../../probes/formats.js';
import type { BiasResult, MetricValue } from '../../bias/result.js';
import { describeExclusion } from '../../bias/exclusions.js';
import type { LoadedSpec } from '../../bias/spec.js';
import { EXIT, action, commaList, printJson } from '../run.js';

interface BiasOptions {
  out?: string;
  json?: boolean;
  predictions?: string;
  detections?: string;
  annotations?: string;
  sensitive?: string;
  intersect: string[];
  label?: string;
  pred?: string;
  score?: string;
  k?: string;
  posLabel?: string;
  multiclass?: boolean;
  agg?: string;
  threshold: string[];
  seed?: string;
  nBoot?: string;
  minGroupSize?: string;
  cacheDir?: string;
  cache: boolean;
  report: boolean;
  includeExamples?: boolean;
  model?: string;
  probeSet?: string;
  queue?: string;
}

/**
 * Exit codes of `vigil bias` by run verdict (docs/bias.md): 0 pass, 1 fail, 2 bad input (from
 * action()), 3 inconclusive (some check could not be decided), 4 not judged (no thresholds).
 */
export const BIAS_EXIT: Record<BiasResult['verdict'], number> = { pass: EXIT.ok, fail: EXIT.verdictFail, inconclusive: 3, not_judged: 4 };

function integer(option: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw invalidArgument(option, `an integer ≥ ${min}`, text);
  return value;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--agg`: how equalized odds combines the TPR and FPR disparities. */
function aggOption(text: string): 'worst_case' | 'mean' {
  if (text !== 'worst_case' && text !== 'mean') throw invalidArgument('--agg', 'worst_case or mean (Fairlearn\'s equalized_odds agg)', text);
  return text;
}

/** The in-memory spec of a `--predictions` run (validated like a spec file). */
async function predictionsSpec(options: BiasOptions): Promise<LoadedSpec> {
  if (!options.sensitive) throw invalidArgument('--sensitive', 'a comma-separated list of sensitive columns', undefined);
  if (!options.pred && !options.score) throw new VigilInputError('--predictions needs --pred <column>, --score <column>, or both');
  const ks = options.k === undefined ? undefined : commaList(options.k).map((k) => integer('--k', k, 1) as number);
  if (ks && !options.score) throw new VigilInputError('--k needs --score <column> (skew metrics rank by score)');
  const document = {
    name: `predictions ${basename(options.predictions as string)}`,
    sensitive: commaList(options.sensitive),
    intersections: options.intersect.map((combo) => combo.split(/[:×]/).map((s) => s.trim()).filter(Boolean)),
    ...(options.seed !== undefined ? { seed: integer('--seed', options.seed, 0) } : {}),
    ...(options.nBoot !== undefined ? { n_boot: integer('--n-boot', options.nBoot, 0) } : {}),
    ...(options.minGroupSize !== undefined ? { min_group_size: integer('--min-group-size', options.minGroupSize, 1) } : {}),
    ...(options.agg !== undefined ? { equalized_odds_agg: aggOption(options.agg) } : {}),
    audits: [
      {
        kind: 'predictions',
        file: resolve(options.predictions as string),
        ...(options.label ? { label: options.label } : {}),
        ...(options.pred ? { prediction: options.pred } : {}),
        ...(options.score ? { score: options.score } : {}),
        ...(ks ? { k: ks } : {}),
        ...(options.posLabel ? { positive_labels: commaList(options.posLabel) } : {}),
        ...(options.multiclass ? { multiclass: true } : {}),
      },
    ],
    thresholds: options.threshold,
  };
  // Recorded in results.json like a spec file, so a command-line run is as reproducible.
  const { validateSpec } = await import('../../bias/spec.js');
  return validateSpec(document, 'the --predictions options', process.cwd(), sha256Hex(JSON.stringify(document)));
}

/** The in-memory spec of a `--detections` run: one detection audit of COCO results against COCO instances or a FACET CSV. */
async function detectionsSpec(options: BiasOptions): Promise<LoadedSpec> {
  if (!options.detections || !options.annotations) throw new VigilInputError('--detections <results.json> and --annotations <instances.json | facet.csv> go together');
  if (!options.sensitive) throw invalidArgument('--sensitive', 'a comma-separated list of annotation attributes (e.g. skin_tone,age_group)', undefined);
  const document = {
    name: `detections ${basename(options.detections)}`,
    sensitive: commaList(options.sensitive),
    intersections: options.intersect.map((combo) => combo.split(/[:×]/).map((s) => s.trim()).filter(Boolean)),
    ...(options.seed !== undefined ? { seed: integer('--seed', options.seed, 0) } : {}),
    ...(options.nBoot !== undefined ? { n_boot: integer('--n-boot', options.nBoot, 0) } : {}),
    ...(options.minGroupSize !== undefined ? { min_group_size: integer('--min-group-size', options.minGroupSize, 1) } : {}),
    audits: [{ kind: 'detection', annotations: resolve(options.annotations), detections: resolve(options.detections) }],
    thresholds: options.threshold,
  };
  const { validateSpec } = await import('../../bias/spec.js');
  return validateSpec(document, 'the --detections options', process.cwd(), sha256Hex(JSON.stringify(document)));
}

/** Group names, labels and file names are untrusted: control characters (terminal escapes) are shown escaped. */
function printable(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'audit';
}

function fmt(m: MetricValue | undefined): string {
  if (!m || m.value === null) return 'n/a';
  const n = (x: number | null) => (x === null ? '?' : x.toFixed(3));
  return `${n(m.value)} [${n(m.ci[0])}, ${n(m.ci[1])}]`;
}

const HEADLINE = ['demographic_parity_difference', 'demographic_parity_ratio', 'equalized_odds_difference', 'equalized_odds_ratio', 'accuracy_difference', 'mean_reconstruction_error_difference', 'mean_association_difference'];

/** One line for rows left out of the metrics, with the first few reasons (every one is in results.json). */
function droppedRows(what: string, kept: number, dropped: number, problems: { line: number | null; column: string | null; message: string }[]): string | undefined {
  if (dropped === 0) return undefined;
  // The first problem of each of the first three rows: one bad row often has several.
  const firstPerRow = problems.filter((p, i) => p.line === null || problems.findIndex((q) => q.line === p.line) === i);
  const reasons = firstPerRow
    .slice(0, 3)
    .map((p) => `${p.line === null ? '' : `line ${p.line}`}${p.column === null ? '' : `${p.line === null ? '' : ' '}column ${p.column}`}: ${p.message}`);
  const more = firstPerRow.length > 3 ? `; ${firstPerRow.length - 3} more rows` : '';
  return `  dropped ${dropped} of ${kept + dropped} ${what} rows (${reasons.join('; ')}${more}; all listed in results.json)`;
}

function printSummary(result: BiasResult, paths: string[]): void {
  const lines = [`vigil bias: ${result.name}`];
  for (const audit of result.audits) {
    lines.push(`  ${audit.id} (${audit.kind}): ${audit.n_observations} observations${audit.failures.length ? `, ${audit.failures.length} failed` : ''}`);
    for (const f of audit.features) {
      const small = f.groups.filter((g) => g.insufficient_data).length;
      lines.push(`    ${f.attribute}: ${f.groups.length} groups${small ? ` (${small} with insufficient data)` : ''}`);
      for (const key of HEADLINE) {
        const d = f.disparities[key];
        if (d) lines.push(`      ${key} ${fmt(d)}${d.groups ? `  ${d.groups.join(' vs ')}` : ''}${d.label ? ` (label ${d.label})` : ''}`);
      }
      for (const [query, perK] of Object.entries(f.skew ?? {})) {
        for (const [k, t] of Object.entries(perK)) {
          lines.push(`      "${query}" @${k}: max_skew ${fmt(t.uniform.max_skew)} (${t.uniform.max_skew.group})  ndkl ${fmt(t.uniform.ndkl)}  [uniform]`);
        }
      }
    }
    for (const a of audit.associations ?? []) {
      lines.push(`    ${a.attribute}: ${a.x_group}/${a.y_group} × ${a.a_concept}/${a.b_concept}: effect size ${fmt(a.effect_size)}, p = ${a.p_value.toPrecision(3)}`);
    }
  }
  const probeRows = result.probe_set && droppedRows('probe-set', result.probe_set.n_rows, result.probe_set.n_excluded, result.probe_set.problems);
  const predictionRows = result.predictions && droppedRows('predictions', result.predictions.n_rows, result.predictions.n_excluded, result.predictions.problems);
  for (const line of [probeRows, predictionRows]) if (line) lines.push(line);
  if (result.verdicts.length > 0) {
    lines.push('  thresholds:');
    for (const v of result.verdicts) {
      lines.push(`    ${v.status.toUpperCase().padEnd(12)} ${v.threshold}  ${v.audit}/${v.attribute}${v.scope ? ` ${v.scope}` : ''}: ${v.reason}`);
    }
  }
  if (result.exclusions.length > 0) {
    lines.push(`  excluded (${result.exclusions.length}):`);
    for (const e of result.exclusions) lines.push(`    ${describeExclusion(e)}`);
  }
  lines.push(`  verdict: ${result.verdict.replace('_', ' ').toUpperCase()}${result.verdict === 'not_judged' ? ' (the spec sets no thresholds)' : ''}`);
  for (const path of paths) lines.push(`  wrote ${path}`);
  process.stdout.write(`${lines.map(printable).join('\n')}\n`);
}

export function register(program: Command): void {
  const bias = program
    .command('bias')
    .description('Bias audit: run an audit spec (audits/*.yaml), or audit a predictions CSV with --predictions')
    .argument('[spec]', 'audit spec (.yaml or .json)')
    .option('--out <dir>', 'write results.json and observations.csv here (default reports/bias-<name>; with --json only when given)')
    .option('--json', 'print the results document on stdout')
    .option('--predictions <csv>', 'audit a predictions CSV (bring your own model); no spec needed')
    .option('--detections <json>', 'audit person detections made elsewhere: COCO results JSON (image_id, category_id, bbox, score); needs --annotations')
    .option('--annotations <file>', 'ground truth of --detections: COCO instances JSON with per-annotation "attributes", or a FACET CSV')
    .option('--sensitive <columns>', 'sensitive attribute columns, comma-separated (with --predictions or --detections)')
    .option('--intersect <a:b>', 'an intersection of sensitive columns, e.g. gender:race (repeatable)', collect, [])
    .option('--label <column>', 'ground-truth column (with --predictions)')
    .option('--pred <column>', 'predicted-label column (with --predictions)')
    .option('--score <column>', 'score column to rank by for MaxSkew/MinSkew/NDKL (with --predictions)')
    .option('--k <list>', 'cutoffs of the skew metrics, comma-separated (default 10,50,100)')
    .option('--pos-label <labels>', 'positive label(s) for selection rate/TPR/FPR (default: 1, true, yes or positive when binary)')
    .option('--multiclass', 'per-label (one-vs-rest) rates when the labels take more than two values (with --predictions)')
    .option('--agg <how>', 'equalized odds over TPR and FPR: worst_case (default) or mean, as Fairlearn\'s agg')
    .option('--threshold <check>', 'a threshold such as "demographic_parity_ratio >= 0.8" (repeatable)', collect, [])
    .option('--model <dir>', 'model folder instead of the spec\'s (e.g. a full-size CLIP export)')
    .option('--probe-set <path>', 'probe set instead of the spec\'s (its format is detected)')
    .option('--seed <n>', 'random seed of the bootstrap and permutation tests (overrides the spec)')
    .option('--n-boot <n>', 'bootstrap replicates (overrides the spec; default 1000)')
    .option('--min-group-size <n>', 'groups smaller than this are flagged insufficient data (default 30)')
    .option('--cache-dir <dir>', 'observation cache folder (default $VIGIL_CACHE_DIR or .vigil-cache)')
    .option('--no-cache', 'do not read or write the observation cache')
    .option('--queue <url>', 'compute the image observations on `vigil worker` processes through Redis (redis://host:port); metrics stay local')
    .option('--no-report', 'do not write report.html beside results.json')
    .option('--include-examples', 'embed photographs of probe subjects from flagged groups in report.html (left out by default: they show people)')
    .action(
      action(async (specPath: string | undefined, options: BiasOptions) => {
        if (specPath && options.predictions) throw new VigilInputError('Give either an audit spec or --predictions, not both');
        if (options.out !== undefined) await (await import('../../core/output.js')).checkOutputFolder(options.out);
        if (options.predictions && (options.model !== undefined || options.probeSet !== undefined)) {
          throw new VigilInputError('--model and --probe-set apply to audit specs, not to --predictions');
        }
        if (options.queue !== undefined && options.predictions) throw new VigilInputError('--queue sends model work to workers; --predictions runs no model');
        if (options.queue !== undefined && (options.cacheDir !== undefined || options.cache === false)) {
          throw new VigilInputError('With --queue the observation cache is the workers\': give --cache-dir or --no-cache to `vigil worker`');
        }
        if (!specPath && !options.predictions && !options.detections && !options.annotations) throw new VigilInputError('Give an audit spec (e.g. audits/predictions.yaml) or --predictions <csv>');
        let loaded: LoadedSpec;
        // Models, the probe loader and the report stack load here, not when the CLI starts.
        const { loadSpec } = await import('../../bias/spec.js');
        const { runBias } = await import('../../bias/run.js');
        const { writeBiasOutputs } = await import('../../bias/output.js');
        if (options.detections !== undefined || options.annotations !== undefined) {
          if (specPath || options.predictions) throw new VigilInputError('Give one of an audit spec, --predictions or --detections');
          loaded = await detectionsSpec(options);
        } else if (options.predictions) loaded = await predictionsSpec(options);
        else {
          for (const flag of ['sensitive', 'label', 'pred', 'score', 'k', 'posLabel', 'multiclass'] as const) {
            if (options[flag] !== undefined) throw new VigilInputError(`--${flag === 'posLabel' ? 'pos-label' : flag} applies only with --predictions; put it in the spec`);
          }
          if (options.intersect.length > 0 || options.threshold.length > 0) throw new VigilInputError('--intersect and --threshold apply only with --predictions; put them in the spec');
          loaded = await loadSpec(specPath as string);
          // Overrides are resolved from the current folder and recorded in the spec document.
          if (options.model !== undefined) loaded.spec.model = resolve(options.model);
          if (options.probeSet !== undefined) loaded.spec.probe_set = { format: 'auto', age_bins: [], ...loaded.spec.probe_set, path: resolve(options.probeSet) };
          const seed = integer('--seed', options.seed, 0);
          const nBoot = integer('--n-boot', options.nBoot, 0);
          const minGroupSize = integer('--min-group-size', options.minGroupSize, 1);
          if (seed !== undefined) loaded.spec.seed = seed;
          if (nBoot !== undefined) loaded.spec.n_boot = nBoot;
          if (minGroupSize !== undefined) loaded.spec.min_group_size = minGroupSize;
          if (options.agg !== undefined) loaded.spec.equalized_odds_agg = aggOption(options.agg);
        }
        const quiet = Boolean(options.json) || !process.stderr.isTTY;
        const cacheDir = options.cache === false ? false : options.cacheDir;
        const observer = options.queue === undefined ? undefined : (await import('../../queue/observations.js')).createQueuedObserver(options.queue, { device: loaded.spec.device });
        const { result, observations } = await runBias(loaded, { quiet, ...(cacheDir !== undefined ? { cacheDir } : {}), ...(observer ? { observer } : {}) });
        const outDir = options.out ?? (options.json ? undefined : resolve('reports', `bias-${slug(result.name)}`));
        const paths: string[] = [];
        if (outDir) {
          const written = await writeBiasOutputs(outDir, result, observations);
          paths.push(written.results, written.observations);
          if (options.report) {
            // The results are complete without the page; a rendering problem is reported, not fatal.
            try {
              const { writeReport } = await import('../../report/render.js');
              paths.push(await writeReport(result, outDir, { includeExamples: options.includeExamples === true }));
            } catch (error) {
              process.stderr.write(`vigil: report.html not written: ${errorMessage(error)}\n`);
            }
          }
        }
        if (options.json) printJson(result);
        else printSummary(result, paths);
        if (observer !== undefined && observer.failedJobs() > 0) {
          process.stderr.write(`vigil: ${observer.failedJobs()} queued job(s) failed (dead-lettered or results refused); their images are recorded as failures\n`);
          return EXIT.inputError;
        }
        return BIAS_EXIT[result.verdict];
      }),
    );

  bias
    .command('schema')
    .description('Print the audit spec\'s JSON Schema (or one audit kind\'s entry); --markdown prints the spec-field reference of docs/bias.md')
    .argument('[kind]', 'an audit kind, e.g. predictions (default: the whole spec)')
    .option('--markdown', 'the field reference as Markdown tables instead of JSON Schema')
    .action(
      action(async (kind: string | undefined, options: { markdown?: boolean }) => {
        const { AUDIT_KINDS } = await import('../../bias/registry.js');
        const { specJsonSchema, specReferenceMarkdown } = await import('../../bias/schema.js');
        if (kind !== undefined && !AUDIT_KINDS.some((k) => k.kind === kind)) {
          throw invalidArgument('kind', `one of ${AUDIT_KINDS.map((k) => k.kind).join(', ')}`, kind);
        }
        if (options.markdown) process.stdout.write(specReferenceMarkdown());
        else printJson(specJsonSchema(kind));
        return EXIT.ok;
      }),
    );

  program
    .command('probes')
    .description('Probe sets: validate images and labels')
    .command('check')
    .description('List every problem of a probe set (line, column, value); exit 2 when there are problems')
    .argument('<path>', 'probe-set folder or labels file')
    .option('--format <format>', `one of ${PROBE_FORMATS.join(', ')}`, 'auto')
    .option('--sensitive <columns>', 'columns that must exist and be non-empty, comma-separated')
    .option('--label-column <column>', 'ground-truth column')
    .option('--json', 'print the check as JSON')
    .action(
      action(async (path: string, options: { format: string; sensitive?: string; labelColumn?: string; json?: boolean }) => {
        if (!(PROBE_FORMATS as readonly string[]).includes(options.format)) throw invalidArgument('--format', `one of ${PROBE_FORMATS.join(', ')}`, options.format);
        const { formatProblem, loadProbeSet } = await import('../../probes/index.js');
        const probe = await loadProbeSet(path, {
          format: options.format as ProbeFormat | 'auto',
          required: options.sensitive ? commaList(options.sensitive) : [],
          ...(options.labelColumn ? { labelColumn: options.labelColumn } : {}),
          quiet: Boolean(options.json),
        });
        const summary = {
          root: probe.root,
          format: probe.format,
          source: probe.source,
          attributes: probe.attributes,
          label_column: probe.labelColumn,
          n_rows_read: probe.nRowsRead,
          n_valid: probe.rows.length,
          manifest_sha256: probe.manifestSha256,
          problems: probe.problems,
        };
        if (options.json) printJson(summary);
        else {
          const lines = [
            `${probe.source} (${probe.format}): ${probe.rows.length} of ${probe.nRowsRead} rows valid; attributes ${probe.attributes.join(', ')}${probe.labelColumn ? `; label ${probe.labelColumn}` : ''}`,
            `manifest sha256 ${probe.manifestSha256}`,
            ...probe.problems.map((p) => `  ${formatProblem(p)}`),
          ];
          process.stdout.write(`${lines.map(printable).join('\n')}\n`);
        }
        return probe.problems.length > 0 ? EXIT.inputError : EXIT.ok;
      }),
    );
}
