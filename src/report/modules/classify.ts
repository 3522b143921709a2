import type { ClassifyResult } from '../../vision/result.js';
import { chartFigure, intervalBarsSpec } from '../charts.js';
import { formatNumber, formatPercent } from '../helpers.js';
import { resolveRecordedPath, sampleWithinBudget, thumbnail } from '../images.js';
import { envelopeReproducibility, type ReportView } from '../view.js';
import type { ReportModule } from './module.js';

/** Rows of the per-image table at most: the full list is in results.json. */
const MAX_ROWS = 500;

/** `vigil classify` results: predicted-label distribution and per-image top labels. */
export const classifyModule: ReportModule<ClassifyResult> = {
  schema: 'vigil/classify',
  async buildView(result, context) {
    const classified = result.images.filter((image) => image.error === null && image.top.length > 0);
    const counts = new Map<string, number>(result.labels.map((label) => [label, 0]));
    for (const image of classified) counts.set(image.top[0].label, (counts.get(image.top[0].label) ?? 0) + 1);
    const distribution = [...counts].map(([label, count]) => ({ label, count, share: classified.length > 0 ? count / classified.length : null }));

    const sampled = sampleWithinBudget(classified, context.maxImages, context.seed);
    const gallery = [];
    for (const image of sampled.items) {
      const preview = await thumbnail(resolveRecordedPath(image.file, context.baseDir, context.imagesUnder));
      if (preview) gallery.push({ file: image.file, label: image.top[0].label, probability: image.top[0].probability, ...preview });
    }

    const rows = result.images.slice(0, MAX_ROWS);
    const notes: string[] = [];
    if (result.images.length > MAX_ROWS) notes.push(`The table lists the first ${MAX_ROWS} of ${result.images.length} images; every image is in results.json.`);
    if (sampled.omitted > 0 && context.visuals) notes.push(`The sample of images shows ${sampled.items.length} of ${classified.length} classified images (sampled with seed ${context.seed}).`);

    const chart =
      context.visuals && classified.length > 0
        ? await chartFigure(
            intervalBarsSpec(
              distribution.map((entry) => ({ label: entry.label, value: entry.share ?? 0 })),
              { valueTitle: 'Share of images (top-1 label)', percent: true },
            ),
            `Top-1 predicted label over ${classified.length} images: ${distribution.map((d) => `${d.label} ${formatPercent(d.share)}`).join('; ')}.`,
            'Share of the classified images whose most probable label is each label.',
          )
        : undefined;

    const view: ReportView = {
      partial: 'classify',
      kindLabel: 'Classification',
      headline:
        result.summary.failed > 0
          ? { label: 'PARTLY DONE', tone: 'warn', text: `${result.summary.classified} of ${result.summary.total} image(s) were classified; ${result.summary.failed} could not be (listed below with why).` }
          : { label: 'DONE', tone: 'neutral', text: `all ${result.summary.total} image(s) were classified by ${result.model.kind} model ${result.model.dir}; predictions describe the model, not the images' truth.` },
      title: `Classification of ${formatNumber(result.summary.total)} image(s)`,
      subtitle: `Model ${result.model.dir} (${result.model.kind}), provider ${result.model.provider}`,
      summary: [
        { key: 'total', label: 'Images', value: formatNumber(result.summary.total), raw: result.summary.total },
        { key: 'classified', label: 'Classified', value: formatNumber(result.summary.classified), raw: result.summary.classified },
        { key: 'failed', label: 'Failed', value: formatNumber(result.summary.failed), raw: result.summary.failed },
        { key: 'cached', label: 'From the cache', value: formatNumber(result.summary.cached), raw: result.summary.cached },
      ],
      sections: [
        { id: 'labels', title: 'Labels and distribution' },
        { id: 'images', title: 'Images' },
      ],
      notes,
      body: { labels: result.labels, templates: result.templates, distribution, chart, gallery, rows, top: result.top },
      reproducibility: [
        ...envelopeReproducibility(result),
        { label: 'Model', value: `${result.model.dir} (${result.model.kind})`, mono: true },
        { label: 'Model sha256', value: result.model.sha256, mono: true },
        { label: 'Execution provider', value: result.model.provider },
      ],
      limitations: [
        'Probabilities are the model’s softmax over the given labels only: an image of something else still gets a label.',
        'A distribution of predictions says nothing about accuracy without ground truth; use vigil bias with a labelled probe set to compare groups.',
      ],
    };
    return view;
  },
};
