import { openBrowser } from './browser.js';

/**
 * Every folded section (`<details>`) opened, so the PDF carries what the HTML folds away ("Spec as
 * run", passed checks, each group against overall). The HTML is vigil's own output, so its
 * `<details` tags are the report's; print CSS unfolds them too for a browser's own print.
 */
export function unfoldDetails(html: string): string {
  return html.replace(/<details(?![^>]*\sopen\b)([\s>])/g, '<details open$1');
}

/** The report's title (from its <title>), for the page footer. */
function titleOf(html: string): string {
  return /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? 'vigil report';
}

/** The sha256 of the results.json the report was rendered from (its <meta>), for the page footer. */
function resultsDigestOf(html: string): string | undefined {
  return /<meta name="vigil-results-sha256" content="([0-9a-f]{64})">/.exec(html)?.[1];
}

/**
 * Prints a report's HTML to PDF with headless Chromium (A4, print CSS of the report, backgrounds
 * kept so verdict badges print), with the report title, the results.json sha256 and "page N of M" in every page's footer.
 * The HTML is self-contained, so it is set as the page content directly: nothing is fetched.
 */
export async function htmlToPdf(html: string): Promise<Buffer> {
  const browser = await openBrowser();
  try {
    const page = await browser.context.newPage();
    await page.setContent(unfoldDetails(html), { waitUntil: 'load' });
    await page.emulateMedia({ media: 'print' });
    // The title is already HTML-escaped in <title>; the footer template is HTML, so it goes in as it is.
    const digest = resultsDigestOf(html);
    const footer = `<div style="font-size:8px;width:100%;padding:0 12mm;display:flex;justify-content:space-between;color:#555;font-family:sans-serif"><span>${titleOf(html)}</span>${digest ? `<span style="font-family:monospace">results sha256 ${digest}</span>` : ''}<span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`;
    return await page.pdf({
      format: 'A4',
      printBackground: true,
      preferCSSPageSize: true,
      outline: true,
      tagged: true,
      displayHeaderFooter: true,
      headerTemplate: '<span></span>',
      footerTemplate: footer,
    });
  } finally {
    await browser.close();
  }
}
