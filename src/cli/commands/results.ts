import type { Command } from 'commander';
import { errorMessage, invalidArgument, VigilInputError } from '../../core/errors.js';
import { MAX_DOCUMENT_BYTES, readInputFile, sha256Hex, writeFileAtomic } from '../../core/files.js';
import { checkOutputFile } from '../../core/output.js';
import { printable } from '../../core/printable.js';
import { DEFAULT_PASSPHRASE_ENV } from '../../provenance/credentials.js';
import { loadTrustLists } from '../../provenance/trust.js';
import { action, EXIT, printJson } from '../run.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function readInput(path: string, what: string): Promise<Buffer> {
  return readInputFile(path, { what, maxBytes: MAX_DOCUMENT_BYTES });
}

/** `vigil results sign|verify`: a detached COSE_Sign1 over a results.json, so an audit can be shown unaltered. */
export function register(program: Command): void {
  const results = program.command('results').description('Sign audit results (results.json) and verify a signature, so a report can be shown to come from unaltered results');

  results
    .command('sign')
    .description('Write a detached COSE_Sign1 signature of a results.json (same signer code and credentials as provenance sign)')
    .argument('<results.json>', 'the results file to sign (any vigil results document; its exact bytes are signed)')
    .requiredOption('--cert <chain.pem>', 'signing certificate chain, leaf first')
    .requiredOption('--key <key.pem>', 'private key (PKCS#8 or SEC1 PEM, optionally encrypted)')
    .option('--alg <alg>', 'signing algorithm (default: from the key)')
    .option('--key-passphrase-env <NAME>', 'environment variable holding the passphrase of an encrypted key', DEFAULT_PASSPHRASE_ENV)
    .option('--out <file>', 'signature file (default <results.json>.cose)')
    .option('--json', 'print what was signed as JSON')
    .addHelpText('after', '\nExample:\n  vigil results sign reports/provenance/results.json --cert dev-keys/signer.pem --key dev-keys/signer.key.pem')
    .action(
      action(async (path: string, options: { cert: string; key: string; alg?: string; keyPassphraseEnv: string; out?: string; json?: boolean }) => {
        // A given --out is checked first; the default lies beside the results, which are read next.
        const out = options.out ?? `${path}.cose`;
        if (options.out !== undefined) await checkOutputFile(out);
        const bytes = await readInput(path, 'results');
        try {
          JSON.parse(bytes.toString('utf8'));
        } catch (error) {
          throw new VigilInputError(`results ${path}: not valid JSON (${errorMessage(error)}); only results documents are signed`, { subject: path });
        }
        const { loadSigningCredentials } = await import('../../provenance/credentials.js');
        const { signResults } = await import('../../provenance/results-signature.js');
        const signer = await loadSigningCredentials({ certPath: options.cert, keyPath: options.key, algorithm: options.alg, passphraseEnv: options.keyPassphraseEnv });
        await writeFileAtomic(out, signResults(signer, bytes));
        const summary = { results: path, sha256: sha256Hex(bytes), signature: out, algorithm: signer.algorithm, signer: signer.chain[0].subject.replace(/\n/g, ', ') };
        if (options.json) printJson(summary);
        else process.stdout.write(`signed ${printable(path)} (sha256 ${summary.sha256}) -> ${printable(out)}\n  signer: ${printable(summary.signer)} (${summary.algorithm})\n`);
        return EXIT.ok;
      }),
    );

  results
    .command('verify')
    .description('Check a detached signature of a results.json: the bytes are unaltered, and (with --trust-anchors) who signed them is vouched for')
    .argument('<results.json>', 'the results file')
    .option('--signature <file>', 'signature file (default <results.json>.cose)')
    .option('--trust-anchors <name=file>', 'a named signer trust list (PEM or JSON; CA anchors or pinned end-entity certificates); repeatable', collect, [])
    .option('--json', 'print the check as JSON')
    .addHelpText(
      'after',
      `
Exit codes: 0 signature valid (and, when trust lists are given, the signer is on one), 1 altered, forged or untrusted, 2 bad input.
Example:
  vigil results verify reports/provenance/results.json --trust-anchors dev=dev-keys/ca.pem`,
    )
    .action(
      action(async (path: string, options: { signature?: string; trustAnchors: string[]; json?: boolean }) => {
        const signaturePath = options.signature ?? `${path}.cose`;
        if (signaturePath === path) throw invalidArgument('--signature', 'a signature file other than the results file', signaturePath);
        const [bytes, cose] = [await readInput(path, 'results'), await readInput(signaturePath, '--signature')];
        const lists = await loadTrustLists(options.trustAnchors);
        const { verifyResultsSignature } = await import('../../provenance/results-signature.js');
        const check = verifyResultsSignature(bytes, cose, lists);
        const trusted = lists.length === 0 || check.trustedBy.length > 0;
        if (options.json) printJson({ results: path, signature: signaturePath, ...check, trusted: lists.length === 0 ? null : trusted });
        else {
          const lines = [`${printable(path)} (sha256 ${check.sha256})`];
          if (!check.signatureValid) lines.push(`  INVALID: ${printable(check.problem ?? 'signature check failed')}`);
          else {
            lines.push(`  signature valid: these exact bytes were signed by ${printable(check.signer ?? '?')} (${check.algorithm}; certificate valid to ${check.signerNotAfter})`);
            if (lists.length === 0) lines.push('  signer not checked against any trust list (give --trust-anchors to say who is vouched for)');
            else lines.push(trusted ? `  signer trusted by: ${check.trustedBy.map(printable).join(', ')}` : `  UNTRUSTED: the signer does not chain to ${lists.map((list) => printable(list.name)).join(', ')}`);
          }
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        return check.signatureValid && trusted ? EXIT.ok : EXIT.verdictFail;
      }),
    );
}
