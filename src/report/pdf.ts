import { openBrowser } from './browser.js';

/**
 * Prints a report's HTML to PDF with headless Chromium (A4, print CSS of the report, backgrounds
 * kept so verdict badges print). The HTML is self-contained, so it is set as the page content
 * directly: nothing is fetched.
 */
export async function htmlToPdf(html: string): Promise<Buffer> {
  const browser = await openBrowser();
  try {
    const page = await browser.context.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    await page.emulateMedia({ media: 'print' });
    return await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true, outline: true, tagged: true });
  } finally {
    await browser.close();
  }
}
