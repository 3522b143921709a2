/**
 * IPTC Digital Source Type vocabulary (https://cv.iptc.org/newscodes/digitalsourcetype/), which
 * C2PA actions use to say how content was made. `aiGenerated` marks the terms that mean a
 * generative / trained model produced all or part of the content, which vigil calls out.
 */

export const IPTC_DIGITAL_SOURCE_TYPE_BASE = 'http://cv.iptc.org/newscodes/digitalsourcetype/';

interface DigitalSourceTypeTerm {
  description: string;
  aiGenerated: boolean;
}

const TERMS: Readonly<Record<string, DigitalSourceTypeTerm>> = {
  digitalCapture: { description: 'Captured by a camera or scanner from a real-world scene', aiGenerated: false },
  negativeFilm: { description: 'Digitised from a negative on film', aiGenerated: false },
  positiveFilm: { description: 'Digitised from a positive on film', aiGenerated: false },
  print: { description: 'Digitised from a print', aiGenerated: false },
  humanEdits: { description: 'Edited by a human', aiGenerated: false },
  minorHumanEdits: { description: 'Minor human edits', aiGenerated: false },
  compositeCapture: { description: 'Composite of captured elements', aiGenerated: false },
  algorithmicallyEnhanced: { description: 'Enhanced by an algorithm (e.g. denoising) without adding new content', aiGenerated: false },
  dataDrivenMedia: { description: 'Rendered from data (e.g. a chart)', aiGenerated: false },
  digitalArt: { description: 'Created by a human using digital tools', aiGenerated: false },
  virtualRecording: { description: 'Recorded in a virtual environment', aiGenerated: false },
  composite: { description: 'Composite of elements of various sources', aiGenerated: false },
  screenCapture: { description: 'Screen capture', aiGenerated: false },
  trainedAlgorithmicMedia: { description: 'Created by a generative AI model (trained algorithmic media)', aiGenerated: true },
  compositeWithTrainedAlgorithmicMedia: {
    description: 'Composite that includes elements created by a generative AI model',
    aiGenerated: true,
  },
  algorithmicMedia: { description: 'Created purely by an algorithm, not trained on data (e.g. procedural)', aiGenerated: true },
  compositeSynthetic: { description: 'Composite that includes synthetic elements', aiGenerated: true },
  // Deprecated IPTC term, still found in older manifests.
  softwareImage: { description: 'Created by software (deprecated term)', aiGenerated: false },
};

export interface DigitalSourceTypeInfo {
  /** The URI exactly as found in the manifest. */
  uri: string;
  /** The IPTC term (the part after the vocabulary base), or the URI when it is not IPTC's. */
  term: string;
  description: string;
  aiGenerated: boolean;
}

/** Looks a digitalSourceType URI up in the IPTC vocabulary (http or https, with or without trailing slash). */
export function describeDigitalSourceType(uri: string): DigitalSourceTypeInfo {
  // Matched leniently (real manifests carry stray whitespace); the URI itself is reported verbatim.
  const match = /^https?:\/\/cv\.iptc\.org\/newscodes\/digitalsourcetype\/([A-Za-z]+)\/?$/.exec(uri.trim());
  const term = match?.[1];
  const known = term === undefined ? undefined : TERMS[term];
  if (term === undefined || known === undefined) {
    return { uri, term: term ?? uri, description: 'Not an IPTC digital source type term', aiGenerated: false };
  }
  return { uri, term, description: known.description, aiGenerated: known.aiGenerated };
}

export function digitalSourceTypeUri(term: string): string {
  return `${IPTC_DIGITAL_SOURCE_TYPE_BASE}${term}`;
}

/** Whether a term (e.g. trainedAlgorithmicMedia) is in the IPTC vocabulary. */
export function isDigitalSourceTypeTerm(term: string): boolean {
  return Object.hasOwn(TERMS, term);
}
