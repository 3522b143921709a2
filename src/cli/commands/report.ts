import type { Command } from 'commander';
import { extname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../core/files.js';
import { checkOutputFile } from '../../core/output.js';
import { invalidArgument } from '../../core/errors.js';
import { action } from '../run.js';
import { DEFAULT_MAX_IMAGES } from '../../report/view.js';

const FORMATS = ['html', 'pdf', 'md'] as const;
type Format = (typeof FORMATS)[number];

function parseFormat(value: string): Format {
  if (!(FORMATS as readonly string[]).includes(value)) throw invalidArgument('--format', `one of ${FORMATS.join(', ')}`, value);
  return value as Format;
}

function parseCount(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw invalidArgument(name, 'a non-negative integer', value);
    return n;
  };
}

/** `vigil report` and `vigil model-card`; the report stack (Handlebars, Vega, sharp, Chromium) loads only inside their actions. */
export function register(program: Command): void {
  program
    .command('report')
    .description('Re-render a report from a results.json alone (no models, no recomputation)')
    .argument('<results>', 'a results.json written by any vigil audit')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'html')
    .option('--out <file>', 'output file (default: report.<ext> next to the results file)')
    .option('--templates <dir>', 'a copy of templates/ whose files replace the built-in templates')
    .option('--include-examples', 'embed photographs of probe subjects from flagged groups in bias reports (left out by default: they show people)')
    .option('--max-images <n>', 'size budget: at most this many images in the report', String(DEFAULT_MAX_IMAGES))
    .option('--seed <n>', 'seed for sampling images when over the budget', '0')
    .addHelpText(
      'after',
      `
Examples:
  vigil report reports/bias/results.json                 # rewrites reports/bias/report.html
  vigil report results.json --format pdf --out audit.pdf # needs Chromium (or VIGIL_CHROMIUM)
  vigil report results.json --format md --out -          # Markdown on stdout
  vigil report results.json --templates ./our-templates  # restyled copy of templates/`,
    )
    .action(
      action(async (resultsPath: string, options: { format: string; out?: string; templates?: string; includeExamples?: boolean; maxImages: string; seed: string }) => {
        const format = parseFormat(options.format);
        const { readResultsDocument, renderMarkdown, renderReport, resultsBaseDir } = await import('../../report/render.js');
        const extension = format === 'md' ? '.md' : `.${format}`;
        const out = options.out ?? join(resultsBaseDir(resultsPath), `report${extension}`);
        if (out !== '-' && options.out !== undefined && extname(out) !== '' && extname(out) !== extension) {
          throw invalidArgument('--out', `a ${extension} file name (to match --format ${format})`, out);
        }
        // Checked before anything is read or rendered (a PDF starts Chromium). The default lies in the
        // results' own folder, which reading the results checks (and which must not be created for a missing file).
        if (options.out !== undefined && out !== '-') await checkOutputFile(out);
        const { results, sha256: resultsSha256 } = await readResultsDocument(resultsPath);
        const renderOptions = {
          resultsSha256,
          templatesDir: options.templates,
          baseDir: resultsBaseDir(resultsPath),
          // Results may come from elsewhere: embed only images under their own folder.
          imagesUnder: resultsBaseDir(resultsPath),
          includeExamples: options.includeExamples === true,
          maxImages: parseCount('--max-images')(options.maxImages),
          seed: parseCount('--seed')(options.seed),
        };
        let content: string | Buffer;
        if (format === 'md') content = await renderMarkdown(results, renderOptions);
        else {
          const html = await renderReport(results, renderOptions);
          content = format === 'pdf' ? await (await import('../../report/pdf.js')).htmlToPdf(html) : html;
        }
        if (out === '-') {
          process.stdout.write(content);
        } else {
          await writeFileAtomic(out, content);
          process.stderr.write(`vigil: wrote ${resolve(out)}\n`);
        }
      }),
    );

  program
    .command('model-card')
    .description('Write the "Bias, Risks, and Limitations" and evaluation sections of a Hugging Face model card from a bias audit')
    .argument('<results>', 'results.json of `vigil bias`')
    .option('--out <file>', 'write the Markdown to this file instead of stdout')
    .option('--model-name <name>', 'model name for the model-index metadata (default: the audited model folder name)')
    .addHelpText(
      'after',
      `
Examples:
  vigil model-card reports/bias/results.json > MODEL_CARD_BIAS.md
  vigil model-card reports/bias/results.json --model-name my-org/clip-finetune --out card.md`,
    )
    .action(
      action(async (resultsPath: string, options: { out?: string; modelName?: string }) => {
        const { readResults } = await import('../../report/render.js');
        const { renderModelCard } = await import('../../report/model-card.js');
        if (options.out !== undefined) await checkOutputFile(options.out);
        const markdown = renderModelCard(await readResults(resultsPath), { modelName: options.modelName });
        if (options.out === undefined) process.stdout.write(markdown);
        else {
          await writeFileAtomic(options.out, markdown);
          process.stderr.write(`vigil: wrote ${resolve(options.out)}\n`);
        }
      }),
    );
}
