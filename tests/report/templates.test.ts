import { mkdtempSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VigilInputError } from '../../src/core/errors.js';
import { renderReport } from '../../src/report/render.js';
import { BUILTIN_TEMPLATES } from '../../src/report/templates.js';
import { biasDocument } from './documents.js';

function templateFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? templateFiles(path) : [path];
  });
}

describe('templates', () => {
  it('never use a triple-stash or raw block: all data is escaped by Handlebars', () => {
    const files = templateFiles(BUILTIN_TEMPLATES).filter((file) => file.endsWith('.hbs'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect(text, relative(BUILTIN_TEMPLATES, file)).not.toMatch(/\{\{\{|\{\{&/);
    }
  });

  it('have one layout per format, partials per module and per section', () => {
    const names = templateFiles(BUILTIN_TEMPLATES).map((file) => relative(BUILTIN_TEMPLATES, file));
    for (const name of [
      'html/layout.hbs',
      'html/styles.css',
      'html/partials/bias.hbs',
      'html/partials/screen.hbs',
      'html/partials/screen-eval.hbs',
      'html/partials/provenance.hbs',
      'html/partials/reproducibility.hbs',
      'html/partials/limitations.hbs',
      'markdown/layout.hbs',
      'markdown/model-card.hbs',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('--templates replaces the files it has and falls back to the built-in ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-templates-'));
    mkdirSync(join(dir, 'html', 'partials'), { recursive: true });
    writeFileSync(join(dir, 'html', 'styles.css'), 'body { background: #123456; }');
    writeFileSync(join(dir, 'html', 'partials', 'limitations.hbs'), '<section id="limitations"><h2>Our caveats</h2>{{#each limitations}}<p class="ours">{{this}}</p>{{/each}}</section>');
    const html = await renderReport(biasDocument(), { templatesDir: dir });
    expect(html).toContain('background: #123456');
    expect(html).toContain('<h2>Our caveats</h2>');
    expect(html).toContain('<p class="ours">Tiny synthetic probe set.</p>');
    // Untouched partials still come from the built-in set.
    expect(html).toContain('id="verdicts"');
  });

  it('rejects a --templates folder that is not a copy of templates/', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'vigil-templates-empty-'));
    await expect(renderReport(biasDocument(), { templatesDir: empty })).rejects.toThrow(VigilInputError);
    await expect(renderReport(biasDocument(), { templatesDir: join(empty, 'missing') })).rejects.toThrow(/is not a folder/);
  });
});
