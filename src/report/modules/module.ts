import type { ReportView, ViewContext } from '../view.js';

/**
 * One report module per results schema (Lighthouse style: metadata + one function): it turns a
 * results document into the view its partial renders. It reads nothing but the document and the
 * image files the document names.
 */
export interface ReportModule<R> {
  /** The results schema this module renders (e.g. "vigil/bias"). */
  schema: string;
  buildView(result: R, context: ViewContext): Promise<ReportView>;
}
