import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderModelCard, shareablePath } from '../../src/report/model-card.js';
import { biasDocument, screenEvalDocument } from './documents.js';

function frontMatter(markdown: string): unknown {
  const match = /^---\n([\s\S]*?)---\n/.exec(markdown);
  expect(match).not.toBeNull();
  return parse(match![1]);
}

describe('model card', () => {
  it('has model-index metadata whose values are the audit disparities', () => {
    const doc = biasDocument();
    const card = renderModelCard(doc, { modelName: 'org/clip-tiny' });
    const meta = frontMatter(card) as {
      'model-index': { name: string; results: { task: { type: string }; dataset: { revision: string }; metrics: { type: string; value: number; args: { sensitive_feature: string; ci_low: number } }[] }[] }[];
    };
    const [entry] = meta['model-index'];
    expect(entry.name).toBe('org/clip-tiny');
    expect(entry.results[0].task.type).toBe('zero-shot-image-classification');
    expect(entry.results[0].dataset.revision).toBe(doc.probe_set!.manifest_sha256);
    const gender = doc.audits[0].features.find((f) => f.attribute === 'gender')!;
    const ratio = entry.results[0].metrics.find((m) => m.type === 'demographic_parity_ratio' && m.args.sensitive_feature === 'gender')!;
    expect(ratio.value).toBe(gender.disparities.demographic_parity_ratio.value);
    expect(ratio.args.ci_low).toBe(gender.disparities.demographic_parity_ratio.ci[0]);
    // A disparity that could not be computed is left out, not written as null.
    expect(entry.results[0].metrics.some((m) => m.type === 'demographic_parity_difference')).toBe(false);
  });

  it('has the Hugging Face sections with verdicts, CIs and escaped labels', () => {
    const card = renderModelCard(biasDocument());
    for (const heading of ['## Bias, Risks, and Limitations', '### Recommendations', '## Evaluation', '#### Testing Data', '#### Factors', '#### Metrics', '### Results']) {
      expect(card).toContain(`\n${heading}\n`);
    }
    expect(card).toContain('**✗ Fail** — demographic_parity_ratio ≥ 0.8 on gender: 0.620, 95% CI [0.570, 0.670]');
    expect(card).toContain('| female | 120 | 41.0% [36.0%, 46.0%] | 74.0% [69.0%, 79.0%] | 26.0% [21.0%, 31.0%] |');
    expect(card).toContain('(n=12)'); // the small group is named as not judged
    expect(card).not.toContain('<img src=x');
    // The model name defaults to the audited model folder.
    expect((frontMatter(card) as { 'model-index': { name: string }[] })['model-index'][0].name).toBe('clip');
  });

  it('writes comparison signs as plain text and no absolute local path', () => {
    const doc = biasDocument();
    doc.verdicts[1].reason = 'the interval [0.12, 0.22] crosses <= 0.2';
    doc.model!.path = '/home/auditor/secret-project/models/clip';
    doc.probe_set!.root = '/home/auditor/secret-project/probes/faces';
    const card = renderModelCard(doc);
    expect(card).not.toContain('&lt;=');
    expect(card).toContain('crosses ≤ 0.2');
    expect(card).not.toContain('/home/auditor');
    expect(card).toContain('…/models/clip');
    expect(shareablePath('/work/x/reports/bias', '/work/x')).toBe('reports/bias');
    expect(shareablePath('fixtures/models/vit', '/anywhere')).toBe('fixtures/models/vit');
  });

  it('rejects results of another kind', () => {
    expect(() => renderModelCard(screenEvalDocument())).toThrow(/Expected the results.json of a bias audit \(schema vigil\/bias\) but received schema "vigil\/screen-eval"/);
  });
});
