import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import Handlebars from 'handlebars';
import { VigilInputError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/version.js';
import { markdownText, registerHelpers } from './helpers.js';

/**
 * Report templates live in `templates/` of the package, one folder per output format:
 *
 *   templates/<format>/layout.hbs          the one page layout of that format
 *   templates/<format>/partials/<name>.hbs a section or module partial, used as {{> name}}
 *   templates/html/styles.css              the inline style sheet, used as {{> styles}}
 *
 * An organisation restyles reports by copying `templates/` and passing `--templates <dir>`: every
 * file present there replaces the built-in file with the same relative path; files it lacks fall
 * back to the built-in ones, so a copy may keep only what it changes.
 */

export const BUILTIN_TEMPLATES = join(PACKAGE_ROOT, 'templates');

export type TemplateFormat = 'html' | 'markdown';

export interface TemplateSet {
  /** Renders the layout of the format around the view. */
  render(view: object): string;
  /** Renders a stand-alone template of the format (e.g. markdown/model-card.hbs). */
  renderTemplate(name: string, view: object): string;
}

function listFiles(root: string, dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(root, path) : [relative(root, path)];
  });
}

/** The effective files of a format: built-in ones, each replaced by the override's copy if any. */
function effectiveFiles(format: TemplateFormat, overrideDir: string | undefined): Map<string, string> {
  const files = new Map<string, string>();
  for (const root of [BUILTIN_TEMPLATES, overrideDir]) {
    if (root === undefined) continue;
    for (const file of listFiles(root, join(root, format))) files.set(file, join(root, file));
  }
  return files;
}

export function checkTemplatesDir(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new VigilInputError(`Expected a templates folder for --templates but ${JSON.stringify(dir)} is not a folder`, {
      subject: dir,
    });
  }
  if (!existsSync(join(dir, 'html')) && !existsSync(join(dir, 'markdown'))) {
    throw new VigilInputError(
      `Expected the templates folder ${JSON.stringify(dir)} to hold html/ and/or markdown/ (copy templates/ of vigil and edit it)`,
      { subject: dir },
    );
  }
}

/**
 * The view with every string (and key) made Markdown-safe by markdownText. Markdown templates are
 * compiled without Handlebars' HTML escaping, which would show as `&gt;&#x3D;` in the Markdown
 * source; this is their escaping instead. SafeStrings (markup built by vigil) pass as they are.
 */
function markdownSafe(value: unknown): unknown {
  if (typeof value === 'string') return markdownText(value);
  if (Array.isArray(value)) return value.map(markdownSafe);
  if (value !== null && typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (prototype === Object.prototype || prototype === null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [markdownText(key), markdownSafe(item)]));
    }
  }
  return value;
}

const cache = new Map<string, TemplateSet>();

/** Loads (once per format and override folder) the Handlebars environment of a format. */
export function loadTemplates(format: TemplateFormat, overrideDir?: string): TemplateSet {
  const key = `${format}\0${overrideDir ?? ''}`;
  const cached = cache.get(key);
  if (cached) return cached;
  if (overrideDir !== undefined) checkTemplatesDir(overrideDir);

  const hb = Handlebars.create();
  registerHelpers(hb);
  const files = effectiveFiles(format, overrideDir);
  const compiled = new Map<string, Handlebars.TemplateDelegate>();
  // Markdown escapes its data with markdownSafe, not as HTML (partials inherit the option).
  const markdown = format === 'markdown';
  const prepare = (view: object): object => (markdown ? (markdownSafe(view) as object) : view);
  const compileFile = (relativePath: string): Handlebars.TemplateDelegate => {
    const path = files.get(relativePath);
    if (path === undefined) {
      throw new VigilInputError(`The report template ${relativePath} is missing (looked in ${BUILTIN_TEMPLATES}${overrideDir ? ` and ${overrideDir}` : ''})`);
    }
    let template = compiled.get(relativePath);
    if (!template) {
      template = hb.compile(readFileSync(path, 'utf8'), { preventIndent: true, noEscape: markdown });
      compiled.set(relativePath, template);
    }
    return template;
  };

  for (const [relativePath, path] of files) {
    const partialsDir = join(format, 'partials');
    if (relativePath.startsWith(partialsDir) && relativePath.endsWith('.hbs')) {
      // A partial is an inline fragment: its file's final newline would break Markdown table rows.
      hb.registerPartial(basename(relativePath, '.hbs'), readFileSync(path, 'utf8').replace(/\r?\n$/, ''));
    } else if (relativePath.endsWith('.css')) {
      // Style sheets are static text; a partial keeps them overridable like the rest.
      hb.registerPartial(basename(relativePath, '.css'), readFileSync(path, 'utf8'));
    }
  }

  const set: TemplateSet = {
    render: (view) => compileFile(join(format, 'layout.hbs'))(prepare(view)),
    renderTemplate: (name, view) => compileFile(join(format, `${name}.hbs`))(prepare(view)),
  };
  cache.set(key, set);
  return set;
}
