import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { resultEnvelope } from '../../src/core/results.js';
import type { FileVerification, ProvenanceResults } from '../../src/provenance/result.js';
import type { ClassifyImageRecord, ClassifyResult } from '../../src/vision/result.js';
import { VigilInputError } from '../../src/core/errors.js';
import { renderMarkdown, renderReport, writeReport } from '../../src/report/render.js';
import { biasDocument, screenDocument, screenEvalDocument, XSS } from './documents.js';

/** Every way a planted payload could come out live in HTML. */
function expectNoLivePayload(html: string): void {
  expect(html).not.toContain('<script>window.__xss');
  expect(html).not.toContain('<img src=x onerror');
  expect(html).not.toMatch(/<img[^>]+onerror/i);
  expect(html).not.toMatch(/<script/i);
}

/** Self-contained: nothing refers to another origin or file. */
function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/\b(?:src|href)="(?:https?:|\/\/|file:)/i);
  expect(html).not.toMatch(/<link\b/i);
  expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);
}

let dir: string;
let evidence: { image: string; spectrum: string; heatmap: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-render-'));
  evidence = { image: join(dir, 'upload.png'), spectrum: join(dir, 'spectrum.png'), heatmap: join(dir, 'heatmap.png') };
  await sharp({ create: { width: 600, height: 400, channels: 3, background: '#88aacc' } }).png().toFile(evidence.image);
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#202020' } }).png().toFile(evidence.spectrum);
  await sharp({ create: { width: 14, height: 14, channels: 3, background: '#cc3311' } }).png().toFile(evidence.heatmap);
});

describe('bias report', () => {
  it('shows verdicts, group counts with small-group flags, disclosure, CIs, charts and intersections', async () => {
    const doc = biasDocument();
    const html = await renderReport(doc);
    expect(html).toContain('Overall verdict: <span class="badge badge-bad"><span aria-hidden="true">✗</span> Fail</span>');
    expect(html).toContain('demographic_parity_ratio ≥ 0.8');
    // Probe-set composition with the small group flagged in words.
    expect(html).toContain('insufficient data: fewer than 30');
    // Disclosure of labels and templates.
    expect(html).toContain('a photo of a {}.');
    // Metric cell with its CI and raw value for tooling.
    expect(html).toContain('data-metric="accuracy" data-value="0.74">74.0%<br><span class="small muted">[69.0%, 79.0%]</span>');
    expect(html).toContain('Intersectional analysis');
    expect(html).toContain('female × Black');
    // One SVG chart per scalar metric and feature: 4 metrics × 3 features.
    expect(html.match(/<svg\b/g)?.length).toBe(12);
    expect(html).toContain('id="reproducibility"');
    expect(html).toContain('a'.repeat(64)); // spec hash
    expect(html).toContain('id="limitations"');
    expectNoLivePayload(html);
    expectSelfContained(html);
    expect(html).toContain('&lt;img src&#x3D;x onerror&#x3D;&quot;window.__xss&#x3D;1&quot;&gt;');
  });

  it('marks groups a failing verdict points at', async () => {
    const html = await renderReport(biasDocument());
    expect(html).toMatch(/<tr class="flagged" data-group="female">/);
    expect(html).toMatch(/<tr class="flagged" data-group="male">/);
  });

  it('flags the group that attains a failing skew, and shows the skew table', async () => {
    const doc = biasDocument();
    doc.verdicts = [
      { threshold: 'max_skew@10 <= 0.3', audit: 'zero-shot', attribute: 'race', scope: 'nurse @ 10 [uniform]', metric: 'max_skew', value: 0.47, ci: [0.2, 0.6], status: 'fail', reason: 'above', comparison: '<=', bound: 0.3 },
    ];
    const race = doc.audits[0].features.find((f) => f.attribute === 'race')!;
    const skew = (group: string, value: number) => ({ value, ci: [value - 0.1, value + 0.1] as [number, number], group });
    race.skew = {
      nurse: {
        '10': {
          uniform: { max_skew: skew('White', 0.47), min_skew: skew('Asian', -0.9), ndkl: { value: 0.27, ci: [0.18, 0.69] }, top_k_counts: { White: 6, Black: 3, Asian: 1 } },
          proportional: { max_skew: skew('Black', 0.12), min_skew: skew('Asian', -0.4), ndkl: { value: 0.08, ci: [0.02, 0.3] }, top_k_counts: { White: 6, Black: 3, Asian: 1 } },
        },
      },
    };
    const html = await renderReport(doc);
    expect(html).toMatch(/<tr class="flagged" data-group="White">/);
    expect(html).not.toMatch(/<tr class="flagged" data-group="Black">/);
    expect(html).toContain('<td class="num" data-metric="max_skew" data-value="0.47">0.470 <span class="small muted">White</span>');
  });

  it('has no examples section when no verdict flags a group', async () => {
    const doc = biasDocument();
    doc.verdicts = doc.verdicts.map((v) => ({ ...v, status: 'pass' as const }));
    doc.verdict = 'pass';
    const html = await renderReport(doc);
    expect(html).not.toContain('id="examples"');
    expect(html).not.toContain('class="flagged"');
  });

  it('leaves photographs of probe subjects out by default and says so', async () => {
    const html = await renderReport(biasDocument());
    expect(html).toContain('Photographs of probe subjects from the flagged groups were left out of this report, as they are by default');
    expect(html).not.toMatch(/<img src="data:image/);
  });

  it('opens with one sentence stating the verdict and its evidence, in the metric table\'s units', async () => {
    const html = await renderReport(biasDocument());
    expect(html).toContain(
      '<p class="headline headline-bad" data-headline="FAIL"><strong>FAIL:</strong> Demographic parity ratio between gender&#x3D;Female and gender&#x3D;Male is 0.620 [0.570, 0.670]; the spec requires ≥ 0.800.</p>',
    );
    // Failed and inconclusive checks are open; the disparity row a threshold judged is marked with its verdict.
    expect(html).toMatch(/<tr data-disparity="demographic_parity_ratio" class="judged judged-fail" data-judged="fail">/);
    expect(html).toContain('17.0 pts');
    const passing = biasDocument();
    passing.verdicts = passing.verdicts.map((v) => ({ ...v, status: 'pass' as const }));
    passing.verdict = 'pass';
    const passed = await renderReport(passing);
    expect(passed).toContain('<details class="passed">\n    <summary>2 passed check(s)</summary>');
    expect(passed).toContain('data-headline="PASS"');
  });

  it('shows example images of flagged groups from observations.csv, within the budget', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vigil-bias-examples-'));
    const probe = join(out, 'probe');
    mkdirSync(probe);
    const rows = ['audit,file,sha256,gender,race,truth,prediction'];
    for (let i = 0; i < 12; i++) {
      await sharp({ create: { width: 40, height: 40, channels: 3, background: '#0000ff' } }).png().toFile(join(probe, `img-${i}.png`));
      rows.push(`zero-shot,img-${i}.png,x,${i % 2 ? 'female' : 'male'},${i < 6 ? 'Black' : 'Asian'},,`);
    }
    writeFileSync(join(out, 'observations.csv'), `${rows.join('\n')}\n`);
    const doc = biasDocument();
    doc.probe_set!.root = probe;
    // Flagged: gender female and male (failing ratio), race Black and Asian (warning): one image each.
    const html = await renderReport(doc, { baseDir: out, maxImages: 4, seed: 1, includeExamples: true });
    const images = html.match(/<img src="data:image\/jpeg;base64,[^"]+"/g) ?? [];
    expect(images.length).toBe(4);
    for (const heading of ['gender = female', 'gender = male', 'race = Black', 'race = Asian']) {
      expect(html).toContain(`<h3>${heading}</h3>`);
    }
    expect(html).not.toContain('race = White');
    expect(html.includes('A sample of 4 of the 24 images in the flagged groups is shown, to keep this report small (at most 4 images, sampled with seed 1).')).toBe(true);
  });
});

describe('screening reports', () => {
  it('renders the triage table, histogram and evidence with downscaled data URIs', async () => {
    const html = await renderReport(screenDocument(evidence));
    expect(html).toContain('Triage table');
    expect(html).toMatch(/<tr data-file="[^"]*" data-verdict="likely-synthetic">/);
    expect(html.match(/<svg\b/g)?.length).toBe(1);
    const images = [...html.matchAll(/<img src="(data:image\/jpeg;base64,[^"]+)" width="(\d+)" height="(\d+)"/g)];
    // Two flagged files × (image, spectrum, heatmap), the second file's own image missing on disk.
    expect(images.length).toBe(5);
    for (const [, , width, height] of images) expect(Math.max(Number(width), Number(height))).toBeLessThanOrEqual(192);
    // The 14×14 heatmap is enlarged (nearest neighbour) so its patches can be seen.
    expect(images.some(([, , w]) => w === '192')).toBe(true);
    expect(html).toContain('Not run: CLIP probe: no CLIP model');
    expect(html).toContain('Input buffer contains unsupported image format');
    expectNoLivePayload(html);
    expectSelfContained(html);
  });

  it('keeps the evidence within the image budget and says how many were left out', async () => {
    const html = await renderReport(screenDocument(evidence), { maxImages: 3 });
    expect(html).toContain('Evidence is shown for the 1 highest-scoring flagged files; 1 more flagged file(s)');
  });

  it('bounds the triage table of a large run and points to the full list', async () => {
    const doc = screenDocument(evidence);
    const template = doc.files[2];
    doc.files = Array.from({ length: 620 }, (_, i) => ({ ...template, file: `photo-${i}.jpg`, score: 0.1 }));
    doc.summary = { files: 620, errors: 0, verdicts: { 'likely-synthetic': 0, uncertain: 0, 'no-evidence': 620 } };
    const html = await renderReport(doc);
    expect(html.match(/<tr data-file=/g)?.length).toBe(500);
    expect(html).toContain('The triage table lists the 500 highest-scoring of 620 files; every file is in results.json and triage.csv.');
  });

  it('renders the evaluation: per-scorer, per-generator and robustness tables with CIs', async () => {
    const doc = screenEvalDocument();
    const html = await renderReport(doc);
    expect(html).toContain('<dd data-key="auc" data-value="0.93">0.930</dd><dd class="interval" data-interval-of="auc">[0.900, 0.960]</dd>');
    expect(html).toMatch(/data-perturbation="jpeg-q75"/);
    expect(html).toContain('-0.120'); // AUC change under JPEG 75
    expect(html).toContain('[0.940, 1.000]');
    // ROC, PR, AUC per generator, AUC per perturbation.
    expect(html.match(/<svg\b/g)?.length).toBe(4);
    expect(html).toContain('aria-label="ROC curves of Fused (AUC 0.930), Spectral (AUC 0.880), Metadata (AUC 0.550).');
    expectNoLivePayload(html);
    // A document without curve points (an older vigil) says why there are no curves.
    for (const scorer of Object.values(doc.conditions[0].groups[0].scorers)) delete scorer.curves;
    const bare = await renderReport(doc);
    expect(bare.match(/<svg\b/g)?.length).toBe(2);
    expect(bare).toContain('This results document has no curve points');
    expectSelfContained(html);
  });
});

describe('provenance report', () => {
  it('says why a soft-binding lookup was skipped instead of reporting no match, with the reason escaped', async () => {
    const file = (path: string, softBinding: FileVerification['softBinding']): FileVerification => ({
      path,
      state: 'NoManifest',
      codes: { failure: [], informational: [], success: [] },
      manifestCount: 0,
      trustLists: [],
      softBinding,
    });
    const doc: ProvenanceResults = {
      ...resultEnvelope('provenance'),
      schema: 'vigil/provenance',
      trustLists: [],
      summary: { files: 2, trusted: 0, valid: 0, invalid: 0, noManifest: 2, errors: 0, aiGenerated: 0, recovered: 0 },
      files: [
        file('photo.heic', { index: 'signed.sqlite', error: `Cannot decode ${XSS.file}: unsupported HEIF codec.` }),
        file('other.jpg', { index: 'signed.sqlite' }),
      ],
    };
    const html = await renderReport(doc, { maxImages: 0 });
    const [skipped, searched] = html.split('<article class="file-card"').slice(1);
    expect(skipped).toContain('<code>photo.heic</code>');
    expect(skipped).toContain(`<strong>Soft-binding lookup skipped:</strong> Cannot decode ${Handlebars.escapeExpression(XSS.file)}: unsupported HEIF codec.`);
    expect(skipped).not.toContain('No signed original');
    expect(searched).toContain('No signed original in <code>signed.sqlite</code> resembles this image.');
    expectNoLivePayload(html);
  });

  it('bounds a large run: invalid files first in the details and the table', async () => {
    const file = (path: string, state: 'Invalid' | 'NoManifest'): FileVerification => ({
      path,
      state,
      codes: {
        failure: state === 'Invalid' ? [{ code: 'assertion.dataHash.mismatch', kind: 'failure', explanation: 'changed', known: true }] : [],
        informational: [],
        success: [],
      },
      manifestCount: state === 'Invalid' ? 1 : 0,
      trustLists: [],
    });
    const files = Array.from({ length: 1200 }, (_, i) => file(`f-${i}.jpg`, i % 100 === 99 ? 'Invalid' : 'NoManifest'));
    const doc: ProvenanceResults = {
      ...resultEnvelope('provenance'),
      schema: 'vigil/provenance',
      trustLists: [],
      summary: { files: 1200, trusted: 0, valid: 0, invalid: 12, noManifest: 1188, errors: 0, aiGenerated: 0, recovered: 0 },
      files,
    };
    const html = await renderReport(doc, { maxImages: 0 });
    expect(html.match(/<tr data-file=/g)?.length).toBe(1000);
    expect(html.match(/class="file-card"/g)?.length).toBe(200);
    // All 12 invalid files made it into both, although most of them come after row 1000.
    expect(html.match(/<tr data-file="[^"]*" data-state="Invalid">/g)?.length).toBe(12);
    expect(html).toContain('Details are shown for 200 and the table lists 1000 of 1200 files');
  });
});

describe('classification report', () => {
  it('shows the top-1 label distribution and each image with escaped labels', async () => {
    const record = (file: string, label: string, p: number): ClassifyImageRecord => ({
      file,
      sha256: '2'.repeat(64),
      provider: 'cpu',
      cached: false,
      top: [{ label, probability: p }],
      logits: [1, 0],
      probabilities: [p, 1 - p],
      error: null,
    });
    const doc: ClassifyResult = {
      ...resultEnvelope('classify'),
      schema: 'vigil/classify',
      model: { dir: 'fixtures/models/vit', kind: 'vit', sha256: '3'.repeat(64), provider: 'cpu', dtype: 'fp32', graphs: [{ file: 'onnx/model.onnx', dtype: 'fp32' }] },
      labels: ['circle', XSS.label],
      templates: null,
      top: 1,
      images: [
        record(evidence.image, 'circle', 0.9),
        record('b.png', XSS.label, 0.8),
        record('c.png', XSS.label, 0.7),
        { ...record(XSS.file, 'circle', 0), top: [], logits: null, probabilities: null, error: 'unreadable image' },
      ],
      summary: { total: 4, classified: 3, failed: 1, cached: 0 },
    };
    const html = await renderReport(doc);
    expect(html).toContain('<tr data-label="circle"><th scope="row">circle</th><td class="num" data-metric="count" data-value="1">1</td><td class="num">33.3%</td></tr>');
    expect(html).toMatch(/data-metric="count" data-value="2">2<\/td><td class="num">66\.7%<\/td>/);
    expect(html.match(/<img src="data:image\/jpeg/g)?.length).toBe(1); // only the file that exists
    expect(html).toContain('unreadable image');
    expectNoLivePayload(html);
    expectSelfContained(html);
  });
});

describe('documents and errors', () => {
  it('rejects what is not a vigil results document, naming the problem', async () => {
    await expect(renderReport([])).rejects.toThrow(/Expected a vigil results document/);
    await expect(renderReport({ schema: 'other/kind', schemaVersion: 1 })).rejects.toThrow(/schema one of vigil\/bias, .* but received schema "other\/kind"/);
    await expect(renderReport({ ...biasDocument(), schemaVersion: 2 })).rejects.toThrow(/Expected schemaVersion 1/);
    const truncated = { ...biasDocument(), audits: undefined };
    await expect(renderReport(truncated)).rejects.toThrow(VigilInputError);
    await expect(renderReport(truncated)).rejects.toThrow(/vigil\/bias results document is incomplete or malformed/);
  });

  it('writeReport writes report.html next to results.json, atomically', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vigil-write-'));
    const path = await writeReport(screenEvalDocument(), out);
    expect(path).toBe(join(out, 'report.html'));
    expect(readFileSync(path, 'utf8')).toMatch(/^<!DOCTYPE html>/);
    expect(readdirSync(out)).toEqual(['report.html']);
  });

  it('renders the demo index with links to each report', async () => {
    const html = await renderReport({
      ...resultEnvelope('demo'),
      seconds: 42,
      reports: [{ schema: 'vigil/bias', title: 'Bias', description: 'd', report: 'bias/report.html', results: 'bias/results.json', verdict: 'fail', headline: { label: 'FAIL', tone: 'bad', text: 'accuracy differs' }, highlights: [], seconds: 1 }],
    });
    expect(html).toContain('<a href="bias/report.html">Bias</a>');
    expect(html).toContain('<strong>DONE:</strong> 1 audits ran on the bundled fixtures: bias FAIL');
  });

  it('renders Markdown with intact tables and escaped data', async () => {
    const md = await renderMarkdown(biasDocument());
    const tableLines = md.split('\n').filter((line) => line.startsWith('|'));
    expect(tableLines.length).toBeGreaterThan(20);
    // Every row of a table has the same number of cells as its header.
    let columns = 0;
    for (const line of md.split('\n')) {
      if (!line.startsWith('|')) {
        columns = 0;
        continue;
      }
      const cells = line.split('|').length;
      if (columns === 0) columns = cells;
      expect(cells, line).toBe(columns);
    }
    expect(md).not.toContain('<img src=x');
    expect(md).toContain('| ✗ Fail | demographic_parity_ratio ≥ 0.8 |');
    expect(existsSync(dir)).toBe(true);
    expect(XSS.label).toContain('<img');
  });

  it('escapes Markdown as Markdown: >= stays readable, | and line breaks stay in their cell, HTML cannot start', async () => {
    const doc = biasDocument();
    doc.verdicts[0].reason = `0.62 violates >= 0.8 | see ${XSS.label}\nnext line`;
    const md = await renderMarkdown(doc);
    const row = md.split('\n').find((line) => line.includes('0.62 violates'))!;
    expect(row).toMatch(/^\| ✗ Fail \|/);
    expect(row.endsWith(' |')).toBe(true);
    // `__` that could open emphasis is written as character references (issue 12).
    expect(row).toContain('| 0.62 violates >= 0.8 &#124; see &lt;img src=x onerror="window.&#95;&#95;xss=1"> next line |');
    // The row has as many cells as the header of its table.
    const header = md.split('\n').find((line) => line.startsWith('| Verdict |'))!;
    expect(row.split('|').length).toBe(header.split('|').length);
    // No HTML escaping anywhere in the Markdown (Handlebars' would write &gt;, &#x3D;, &quot;, &#x27;).
    expect(md).not.toMatch(/&(gt|quot|amp|#x3D|#x27|#x60);/);
    expect(md).not.toMatch(/<(img|script)/i);
  });
});
