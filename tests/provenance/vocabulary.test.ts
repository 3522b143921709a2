import { describe, expect, it } from 'vitest';
import { describeDigitalSourceType, isDigitalSourceTypeTerm } from '../../src/provenance/digital-source-types.js';
import { sniffImageMime } from '../../src/core/image-format.js';
import { EXPLAINED_CODES, explainStatusCode } from '../../src/provenance/status-codes.js';
import { emptyCodes, stateFromCodes, statusCode } from '../../src/provenance/summarize.js';

/** Failure and informational codes of c2pa-rs's validation_codes module: each needs an explanation. */
const C2PA_RS_CODES = [
  'claimSignature.validated', 'claimSignature.insideValidity', 'signingCredential.trusted', 'signingCredential.ocsp.notRevoked',
  'timeStamp.validated', 'timeStamp.trusted', 'assertion.hashedURI.match', 'assertion.dataHash.match', 'assertion.bmffHash.match',
  'assertion.boxesHash.match', 'assertion.collectionHash.match', 'assertion.accessible', 'ingredient.manifest.validated',
  'ingredient.unknownProvenance', 'ingredient.claimSignature.validated', 'signingCredential.ocsp.skipped',
  'signingCredential.ocsp.inaccessible', 'timeStamp.mismatch', 'timeStamp.malformed', 'timeStamp.outsideValidity',
  'timeStamp.untrusted', 'manifest.unknownProvenance', 'manifest.unreferenced', 'algorithm.deprecated',
  'timeOfSigning.insideValidity', 'claim.malformed', 'claim.missing', 'claim.multiple', 'claim.hardBindings.missing',
  'assertion.multipleHardBindings', 'claim.required.missing', 'claim.cbor.invalid', 'ingredient.hashedURI.mismatch',
  'claimSignature.missing', 'claimSignature.mismatch', 'manifest.inaccessible', 'manifest.multipleParents',
  'manifest.update.invalid', 'manifest.update.wrongParents', 'signingCredential.untrusted', 'signingCredential.invalid',
  'signingCredential.ocsp.revoked', 'signingCredential.expired', 'assertion.hashedURI.mismatch', 'assertion.missing',
  'assertion.undeclared', 'assertion.inaccessible', 'assertion.notRedacted', 'assertion.selfRedacted',
  'assertion.required.missing', 'assertion.json.invalid', 'assertion.cbor.invalid', 'assertion.action.ingredientMismatch',
  'assertion.action.redacted', 'assertion.dataHash.mismatch', 'assertion.bmffHash.mismatch', 'assertion.boxesHash.mismatch',
  'assertion.boxesHash.unknownBox', 'assertion.cloud-data.hardBinding', 'assertion.cloud-data.actions', 'algorithm.unsupported',
  'general.error', 'claimSignature.outsideValidity', 'manifest.timestamp.invalid', 'manifest.timestamp.wrongParents',
  'manifest.compressed.invalid', 'signingCredential.ocsp.unknown', 'assertion.outsideManifest', 'assertion.action.malformed',
  'assertion.action.redactionMismatch', 'assertion.dataHash.malformed', 'assertion.dataHash.redacted',
  'assertion.bmffHash.malformed', 'assertion.boxesHash.malformed', 'assertion.cloud-data.malformed',
  'assertion.collectionHash.mismatch', 'assertion.collectionHash.incorrectFileCount', 'assertion.collectionHash.invalidURI',
  'assertion.collectionHash.malformed', 'assertion.ingredient.malformed', 'assertion.metadata.disallowed',
  'ingredient.manifest.missing', 'ingredient.manifest.mismatch', 'ingredient.claimSignature.missing',
  'ingredient.claimSignature.mismatch', 'hashedURI.missing', 'hashedURI.mismatch', 'assertion.timestamp.malformed',
  'assertion.dataHash.additionalExclusionsPresent',
];

describe('status code explanations', () => {
  it('explains every code c2pa-rs defines, in a sentence', () => {
    const missing = C2PA_RS_CODES.filter((code) => !explainStatusCode(code).known);
    expect(missing).toEqual([]);
    for (const code of EXPLAINED_CODES) expect(explainStatusCode(code).explanation).toMatch(/^[A-Z].*\.$/);
  });

  it('gives unknown codes a generic explanation and keeps the validator text', () => {
    expect(explainStatusCode('vendor.somethingNew')).toEqual({ known: false, explanation: expect.stringContaining('see the validator message') });
    expect(statusCode({ code: 'vendor.somethingNew', explanation: 'raw text', url: 'self#jumbf=x' }, 'failure')).toEqual({
      code: 'vendor.somethingNew',
      kind: 'failure',
      known: false,
      explanation: expect.any(String),
      validatorExplanation: 'raw text',
      url: 'self#jumbf=x',
    });
  });

  it('computes states like c2pa-rs: untrusted credentials alone are Valid, other failures Invalid', () => {
    const codes = emptyCodes();
    expect(stateFromCodes(codes)).toBe('Valid');
    codes.success.push(statusCode({ code: 'signingCredential.trusted' }, 'success'));
    expect(stateFromCodes(codes)).toBe('Trusted');
    codes.failure.push(statusCode({ code: 'cawg.x509.credential.untrusted' }, 'failure'));
    expect(stateFromCodes(codes)).toBe('Valid');
    codes.failure.push(statusCode({ code: 'assertion.dataHash.mismatch' }, 'failure'));
    expect(stateFromCodes(codes)).toBe('Invalid');
  });
});

describe('digital source types', () => {
  it('calls out AI-generated terms, with http or https URIs', () => {
    expect(describeDigitalSourceType('http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia')).toMatchObject({ term: 'trainedAlgorithmicMedia', aiGenerated: true });
    expect(describeDigitalSourceType('https://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia/').aiGenerated).toBe(true);
    expect(describeDigitalSourceType('http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia').aiGenerated).toBe(true);
    expect(describeDigitalSourceType('http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture').aiGenerated).toBe(false);
    // C_with_CAWG_data.jpg of the c2pa-rs fixtures has a leading space in its URI.
    expect(describeDigitalSourceType(' http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture')).toMatchObject({
      uri: ' http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture',
      term: 'digitalCapture',
    });
    expect(describeDigitalSourceType('http://c2pa.org/digitalsourcetype/empty')).toMatchObject({ term: 'http://c2pa.org/digitalsourcetype/empty', aiGenerated: false });
    expect(isDigitalSourceTypeTerm('trainedAlgorithmicMedia')).toBe(true);
    expect(isDigitalSourceTypeTerm('toString')).toBe(false);
  });
});

describe('format detection', () => {
  it('detects JPEG, PNG and WebP by magic bytes only', () => {
    expect(sniffImageMime(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffImageMime(Buffer.from('\x89PNG\r\n\x1a\n....', 'latin1'))).toBe('image/png');
    expect(sniffImageMime(Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 ', 'latin1'))).toBe('image/webp');
    expect(sniffImageMime(Buffer.from('RIFF\x00\x00\x00\x00WAVEfmt ', 'latin1'))).toBeUndefined();
    expect(sniffImageMime(Buffer.from('GIF89a', 'latin1'))).toBe('image/gif');
    expect(sniffImageMime(Buffer.from('II*\0\x08\0', 'latin1'))).toBe('image/tiff');
    expect(sniffImageMime(Buffer.from('MM\0*\0\0', 'latin1'))).toBe('image/tiff');
    expect(sniffImageMime(Buffer.from('\0\0\0\x18ftypavif\0\0\0\0mif1miaf', 'latin1'))).toBe('image/avif');
    expect(sniffImageMime(Buffer.from('\0\0\0\x18ftypmif1\0\0\0\0mif1avif', 'latin1'))).toBe('image/avif');
    expect(sniffImageMime(Buffer.from('\0\0\0\x18ftypheic\0\0\0\0mif1heic', 'latin1'))).toBe('image/heif');
    expect(sniffImageMime(Buffer.from('\0\0\0\x18ftypisom\0\0\0\0isomiso2', 'latin1'))).toBeUndefined();
    expect(sniffImageMime(Buffer.from('BM6\0\0\0', 'latin1'))).toBeUndefined();
    expect(sniffImageMime(new Uint8Array(0))).toBeUndefined();
  });
});
