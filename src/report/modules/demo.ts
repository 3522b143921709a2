import type { DemoResult } from '../result.js';
import { formatNumber } from '../helpers.js';
import { envelopeReproducibility, type ReportView } from '../view.js';
import type { ReportModule } from './module.js';

/** The demo's index page: one card per audit, linking its report and results. */
export const demoModule: ReportModule<DemoResult> = {
  schema: 'vigil/demo',
  async buildView(result) {
    const view: ReportView = {
      partial: 'demo',
      kindLabel: 'Demo',
      title: 'vigil demo: three audits on the bundled fixtures',
      headline: {
        label: 'DONE',
        tone: result.reports.some((entry) => entry.headline.tone === 'bad') ? 'bad' : 'neutral',
        text: `${result.reports.length} audits ran on the bundled fixtures: ${result.reports.map((entry) => `${entry.title.toLowerCase()} ${entry.headline.label}`).join(', ')}; each report below opens with its evidence.`,
      },
      subtitle:
        'A bias audit, a synthetic-media screening evaluation and a C2PA provenance sign-and-verify, run end to end on the tiny models and images shipped with vigil.',
      summary: [
        { key: 'reports', label: 'Reports', value: formatNumber(result.reports.length), raw: result.reports.length },
        { key: 'seconds', label: 'Total time', value: `${formatNumber(result.seconds, 1)} s`, raw: result.seconds },
      ],
      sections: [{ id: 'reports', title: 'Reports' }],
      notes: [],
      body: { reports: result.reports },
      reproducibility: [
        ...envelopeReproducibility(result),
        { label: 'Command', value: 'vigil demo (or npm run demo)', mono: true },
        ...result.reports.map((entry) => ({ label: `${entry.title} results`, value: entry.results, mono: true })),
      ],
      limitations: [
        'The bundled models and images are tiny and synthetic, built to exercise every part of vigil quickly; their numbers say nothing about any real model.',
        'Run the same commands on your own model folders, probe sets and images for real audits (see the README).',
      ],
    };
    return view;
  },
};
