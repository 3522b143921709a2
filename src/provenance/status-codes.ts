/**
 * Plain-language explanations of the C2PA validation status codes (C2PA specification section
 * "Standard status codes", as defined by c2pa-rs's validation_codes plus the CAWG identity codes).
 * The code itself is always reported verbatim; the explanation is written for a reader who is not
 * a C2PA specialist (a lawyer, an editor). Unknown codes get a generic explanation and keep
 * c2pa-rs's own explanation alongside.
 */

const EXPLANATIONS: Readonly<Record<string, string>> = {
  // success
  'claimSignature.validated': 'The digital signature over the provenance claim is mathematically valid.',
  'claimSignature.insideValidity': "The claim was signed while the signer's certificate was valid.",
  'signingCredential.trusted': "The signer's certificate chains to a certificate authority on a trust list you configured.",
  'signingCredential.ocsp.notRevoked': "The certificate authority's revocation service confirmed the signer's certificate was not revoked.",
  'timeStamp.validated': 'A time-stamp authority countersigned the signature, and the time-stamp matches it.',
  'timeStamp.trusted': 'The time-stamp authority is on a trust list.',
  'assertion.hashedURI.match': 'An assertion (a statement in the manifest) is exactly what the signer signed.',
  'assertion.dataHash.match': 'The image pixels and bytes are exactly those the signer signed.',
  'assertion.bmffHash.match': 'The media file boxes are exactly those the signer signed.',
  'assertion.boxesHash.match': 'The file segments are exactly those the signer signed.',
  'assertion.collectionHash.match': 'Every file of the signed collection is exactly as signed.',
  'assertion.accessible': 'An assertion stored outside the file could be fetched.',
  'ingredient.manifest.validated': "An ingredient's own provenance record is intact.",
  'ingredient.claimSignature.validated': "An ingredient's own signature is intact.",
  // informational
  'ingredient.unknownProvenance': 'An ingredient (a source image this one was made from) had no provenance of its own.',
  'signingCredential.ocsp.skipped': "The signer's certificate was not checked for revocation online (vigil verifies offline).",
  'signingCredential.ocsp.inaccessible': 'The revocation service for the signer certificate could not be reached.',
  'timeStamp.mismatch': 'The time-stamp does not match the signature, so the signing time is not independently proven.',
  'timeStamp.malformed': 'The time-stamp could not be parsed, so the signing time is not independently proven.',
  'timeStamp.outsideValidity': "The time-stamp falls outside the signer's or the time-stamp authority's certificate validity.",
  'timeStamp.untrusted': 'The time-stamp authority is not on a trust list, so the signing time is only as good as the signer.',
  'manifest.unknownProvenance': 'The manifest uses a form this validator cannot interpret.',
  'manifest.unreferenced': 'The file contains a manifest that no other manifest refers to.',
  'algorithm.deprecated': 'The signature uses an algorithm that is deprecated; it still validates but is weaker than recommended.',
  'timeOfSigning.insideValidity': "The claimed signing time is within the signer certificate's validity.",
  'assertion.dataHash.additionalExclusionsPresent': 'The data hash excludes more of the file than needed; the excluded parts could change unnoticed.',
  'assertion.bmffHash.additionalExclusionsPresent':
    'The media hash excludes boxes beyond the ones C2PA requires to be excluded; changes inside those boxes would go unnoticed.',
  // failure
  'signingCredential.untrusted':
    "The signature is valid, but the signer's certificate does not chain to any trust anchor you configured: who signed it is not vouched for.",
  'signingCredential.invalid': 'The signer certificate is not acceptable for C2PA signing (wrong key usage, profile or structure).',
  'signingCredential.ocsp.revoked': "The signer's certificate authority has revoked the signing certificate.",
  'signingCredential.ocsp.unknown': 'The revocation service does not know the signing certificate.',
  'signingCredential.expired':
    "The signer's certificate (or one above it) was not valid at the time c2pa-rs judged it: the time of a trusted time-stamp when there is one, otherwise the current time. So the certificate either had expired when the claim was signed, or expired later and no trusted time-stamp proves the claim was signed before that.",
  'claim.malformed': 'The provenance claim is malformed and cannot be read.',
  'claim.missing': 'A referenced provenance claim cannot be found.',
  'claim.multiple': 'A manifest contains more than one claim, which is not allowed.',
  'claim.hardBindings.missing': 'The claim does not bind itself to the file content at all, so it proves nothing about the pixels.',
  'assertion.multipleHardBindings': 'The claim binds itself to the content in more than one way, which is not allowed.',
  'claim.required.missing': 'A required field of the claim is missing.',
  'claim.cbor.invalid': 'The claim is not valid CBOR (its binary encoding is corrupt).',
  'ingredient.hashedURI.mismatch': "An ingredient's recorded fingerprint does not match the ingredient data in the manifest.",
  'claimSignature.missing': 'The signature of the claim is missing.',
  'claimSignature.mismatch': 'The signature does not match the claim: the claim was changed after signing, or the signature is forged.',
  'claimSignature.outsideValidity': "The claim was signed outside the signer certificate's validity period.",
  'manifest.inaccessible':
    'The manifest is stored remotely (a cloud manifest the file only points to) and was not fetched: vigil verifies offline unless --fetch-remote is given, and a fetch can fail. Nothing is known about the provenance until it is read.',
  'manifest.missing': 'A referenced manifest is missing from the manifest store.',
  'manifest.multipleParents': 'The manifest names more than one parent image, which is not allowed.',
  'manifest.update.invalid': 'An update manifest contains statements an update manifest may not contain.',
  'manifest.update.wrongParents': 'An update manifest must name exactly one parent.',
  'manifest.timestamp.invalid': 'A time-stamp manifest contains assertions it may not contain.',
  'manifest.timestamp.wrongParents': 'A time-stamp manifest must name exactly one parent.',
  'manifest.compressed.invalid': 'A compressed manifest could not be decompressed.',
  'assertion.hashedURI.mismatch': 'An assertion was changed after signing: its content no longer matches what was signed.',
  'assertion.missing': 'An assertion the claim lists is missing from the manifest.',
  'assertion.undeclared': 'The manifest contains an assertion the claim does not list.',
  'assertion.inaccessible': 'An assertion stored outside the file could not be fetched.',
  'assertion.notRedacted': 'An assertion marked as redacted is still present.',
  'assertion.selfRedacted': 'A claim tried to redact one of its own assertions, which is not allowed.',
  'assertion.required.missing': 'A required field of an assertion is missing.',
  'assertion.json.invalid': 'An assertion is not valid JSON.',
  'assertion.cbor.invalid': 'An assertion is not valid CBOR.',
  'assertion.action.ingredientMismatch': 'An action refers to an ingredient that cannot be found.',
  'assertion.action.redacted': 'An actions assertion was redacted, which is not allowed.',
  'assertion.action.malformed': 'An actions assertion is malformed.',
  'assertion.action.redactionMismatch': 'A redaction action does not match a redaction in the claim.',
  'assertion.dataHash.mismatch':
    "The file's bytes do not match the signed data hash. c2pa-rs raises this when bytes covered by the hash changed after signing, and also when the hash's exclusion range does not line up with where the manifest sits in the file (a defect in how the file was written, not necessarily a change of content).",
  'assertion.dataHash.malformed': 'The data hash assertion is malformed.',
  'assertion.dataHash.redacted': 'The hard binding to the content was redacted, which is not allowed.',
  'assertion.bmffHash.mismatch': 'The media file boxes covered by the signed hash do not match it: the media was modified after signing, or its box layout was rewritten.',
  'assertion.bmffHash.malformed': 'The BMFF hash assertion is malformed.',
  'assertion.boxesHash.mismatch': 'A file segment was modified after signing.',
  'assertion.boxesHash.unknownBox': 'The file contains a segment the signer did not cover.',
  'assertion.boxesHash.malformed': 'The box hash assertion is malformed.',
  'assertion.collectionHash.mismatch': 'A file of the signed collection was modified after signing.',
  'assertion.collectionHash.incorrectFileCount': 'A file of the signed collection is missing.',
  'assertion.collectionHash.invalidURI': "A path in the collection hash uses '.' or '..', which is not allowed.",
  'assertion.collectionHash.malformed': 'The collection hash assertion is malformed.',
  'assertion.cloud-data.hardBinding': 'A hard binding is stored in a cloud-data assertion, which is not allowed.',
  'assertion.cloud-data.actions': 'An update manifest refers to actions through cloud data, which is not allowed.',
  'assertion.cloud-data.malformed': 'A cloud-data assertion is incomplete.',
  'assertion.outsideManifest': 'The claim lists an assertion stored in another manifest.',
  'assertion.ingredient.malformed': 'An ingredient assertion is incomplete.',
  'assertion.metadata.disallowed': 'A metadata assertion contains a field the specification does not allow.',
  'assertion.timestamp.malformed': 'A time-stamp assertion is malformed.',
  'ingredient.manifest.missing': "An ingredient's provenance record is referenced but not present in the file.",
  'ingredient.manifest.mismatch': "An ingredient's provenance record was changed after this image was signed.",
  'ingredient.claimSignature.missing': "An ingredient's signature is referenced but not present.",
  'ingredient.claimSignature.mismatch': "An ingredient's signature was changed after this image was signed.",
  'hashedURI.missing': 'Data that a signed reference points to cannot be found.',
  'hashedURI.mismatch': 'Data that a signed reference points to was changed after signing.',
  'algorithm.unsupported': 'The signature or hash uses an algorithm that is unknown or not allowed by C2PA.',
  'general.error': 'Validation failed for a reason without a specific C2PA code; see the validator message.',
  // CAWG identity assertions (Creator Assertions Working Group)
  'cawg.identity.well-formed': 'The creator identity assertion is well formed.',
  'cawg.x509.credential.trusted': "The creator identity's certificate is on a trust list.",
  'cawg.x509.credential.untrusted':
    "The creator identity (CAWG) is signed with a certificate that is not on any trust list you configured: who the creator is, is not vouched for.",
  'cawg.x509.signature.validated': 'The creator identity (CAWG) signature is mathematically valid.',
  'cawg.ica.credential_valid': 'The creator identity claims aggregation credential is valid.',
  'cawg.identity.hard_binding_missing': 'The creator identity does not cover the hard binding to the content.',
  'cawg.identity.assertion.mismatch': 'The creator identity refers to assertions that do not match the manifest.',
  'cawg.identity.assertion.duplicate': 'The creator identity refers to the same assertion more than once.',
  'cawg.identity.sig_type.unknown': 'The creator identity uses a signature type this validator does not know.',
  'cawg.identity.pad.invalid': 'The creator identity padding is not all zeros, so it may hide data.',
  'cawg.x509.credential.invalid': "The creator identity's certificate is not acceptable.",
  'cawg.x509.credential.revoked': "The creator identity's certificate was revoked.",
  'cawg.x509.signature.outsideValidity': "The creator identity was signed outside its certificate's validity.",
  'cawg.identity.signature.mismatch': 'The creator identity signature does not match its content.',
};

const GENERIC_EXPLANATION = 'A status code vigil has no plain-language explanation for; see the validator message.';

/** A plain-language explanation of a C2PA status code, and whether vigil knows the code. */
export function explainStatusCode(code: string): { explanation: string; known: boolean } {
  const explanation = EXPLANATIONS[code];
  return explanation === undefined ? { explanation: GENERIC_EXPLANATION, known: false } : { explanation, known: true };
}

/** Every code vigil explains, for documentation and tests. */
export const EXPLAINED_CODES: readonly string[] = Object.keys(EXPLANATIONS);

