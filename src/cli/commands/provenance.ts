import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { invalidArgument, VigilInputError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { loadSigningCredentials, DEFAULT_PASSPHRASE_ENV } from '../../provenance/credentials.js';
import { SIGNING_ALGORITHMS } from '../../provenance/cose.js';
import type { ClipFingerprinter } from '../../provenance/fingerprint.js';
import type { ProvenanceResults } from '../../provenance/result.js';
import { DEFAULT_INDEX_PATH, ProvenanceIndex } from '../../provenance/soft-binding.js';
import { IMAGE_EXTENSIONS } from '../../provenance/formats.js';
import { formatVerifyText } from '../../provenance/text.js';
import { loadTrustLists } from '../../provenance/trust.js';
import { verifyPaths } from '../../provenance/verify.js';
import { action, EXIT, printJson } from '../run.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Files to verify: files as given (a non-image is reported, not skipped), folders searched for images. */
async function expandPaths(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    files.push(...(info?.isDirectory() ? await (await import('../../vision/images.js')).expandImagePath(path, IMAGE_EXTENSIONS) : [path]));
  }
  return files;
}

/** Opens the index only when verify needs it: an explicit --index, or the default one if it exists. */
async function openIndexForVerify(option: string | boolean | undefined): Promise<ProvenanceIndex | undefined> {
  if (option === false) return undefined;
  if (typeof option === 'string') return ProvenanceIndex.open(option);
  return (await stat(DEFAULT_INDEX_PATH).catch(() => undefined)) ? ProvenanceIndex.open(DEFAULT_INDEX_PATH) : undefined;
}

/** Exit code of a verify run: Invalid beats everything; then unverifiable files; NoManifest fails only when required. */
export function verifyExitCode(results: ProvenanceResults, requireManifest: boolean): number {
  const { summary } = results;
  if (summary.invalid > 0) return EXIT.verdictFail;
  if (summary.errors > 0) return EXIT.inputError;
  if (requireManifest && results.files.some((file) => file.state === 'NoManifest' && file.softBinding?.match === undefined)) return EXIT.verdictFail;
  return EXIT.ok;
}

interface VerifyCliOptions {
  trustAnchors: string[];
  json?: boolean;
  out?: string;
  index?: string | boolean;
  clipModel?: string;
  requireManifest?: boolean;
}

interface SignCliOptions {
  out?: string;
  inPlace?: boolean;
  cert?: string;
  key?: string;
  alg?: string;
  keyPassphraseEnv: string;
  generator?: string;
  parent?: string;
  ingredient: string[];
  sourceType?: string;
  assertion: string[];
  manifest?: string;
  title?: string;
  thumbnail: boolean;
  index?: string | boolean;
  clipModel?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const provenance = program.command('provenance').description('C2PA Content Credentials: verify, sign, development keys');

  provenance
    .command('verify')
    .description('Verify the C2PA manifests of images (JPEG, PNG, WebP, TIFF, GIF, AVIF, HEIF): state, explained status codes, signer, actions, ingredients')
    .argument('<paths...>', 'image files or folders')
    .option('--trust-anchors <name=file.pem>', 'a named trust list (PEM bundle of anchors); repeatable', collect, [])
    .option('--json', 'print the results document on stdout')
    .option('--out <dir>', 'write results.json and report.html to this folder')
    .option('--index <path>', `provenance index for files without a manifest (default ${DEFAULT_INDEX_PATH} when it exists)`)
    .option('--no-index', 'do not look up files without a manifest')
    .option('--clip-model <dir>', 'also compare CLIP embeddings (a CLIP model folder) in soft-binding lookups')
    .option('--require-manifest', 'exit 1 when a file has no manifest (and no soft-binding match)')
    .addHelpText(
      'after',
      `
States: Trusted (intact, signer on a trust list), Valid (intact, signer not on any list you gave),
Invalid (tampered or broken), NoManifest (no credentials; not an error unless --require-manifest).
Exit codes: 0 no Invalid file, 1 any Invalid (or NoManifest with --require-manifest), 2 a file could not be verified.

Examples:
  vigil provenance verify photo.jpg
  vigil provenance verify uploads/ --trust-anchors official=c2pa-trust-list.pem --trust-anchors interim=interim.pem
  vigil provenance verify image.png --json | jq '.files[0].state'
  vigil provenance verify images/ --out reports/provenance`,
    )
    .action(
      action(async (paths: string[], options: VerifyCliOptions) => {
        const trustLists = await loadTrustLists(options.trustAnchors);
        const files = await expandPaths(paths);
        const index = await openIndexForVerify(options.index);
        let clip: ClipFingerprinter | undefined;
        try {
          // The CLIP model (onnxruntime) loads only when asked for.
          clip = options.clipModel ? await (await import('../../provenance/fingerprint.js')).loadClipFingerprinter(options.clipModel) : undefined;
          const results = await verifyPaths(files, {
            trustLists,
            quiet: options.json === true,
            ...(index ? { softBinding: { lookup: (bytes: Uint8Array, lookup: { subject: string }) => index.lookup(bytes, { ...lookup, clip }) } } : {}),
          });
          if (options.out) {
            // File paths are recorded as given, so thumbnails resolve against the working directory.
            await writeFileAtomic(join(options.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
            await writeFileAtomic(join(options.out, 'report.html'), await (await import('../../report/render.js')).renderReport(results, { baseDir: process.cwd() }));
          }
          if (options.json) printJson(results);
          else process.stdout.write(formatVerifyText(results));
          return verifyExitCode(results, options.requireManifest === true);
        } finally {
          await clip?.release();
          index?.close();
        }
      }),
    );

  provenance
    .command('sign')
    .description('Embed and sign a C2PA manifest declaring how an image was made (default: created by generative AI)')
    .argument('<in>', 'image to sign (JPEG, PNG, WebP, TIFF, GIF, AVIF, HEIF)')
    .option('--out <file>', 'signed output file')
    .option('--in-place', 'overwrite the input instead of writing --out')
    .option('--cert <chain.pem>', 'signing certificate chain, leaf first')
    .option('--key <key.pem>', 'private key (PKCS#8 or SEC1 PEM, optionally encrypted)')
    .option('--alg <alg>', `signing algorithm: ${SIGNING_ALGORITHMS.join(', ')} (default: from the key)`)
    .option('--key-passphrase-env <NAME>', 'environment variable holding the passphrase of an encrypted key', DEFAULT_PASSPHRASE_ENV)
    .option('--generator <"name version">', 'generating software: softwareAgent of the actions and claim generator')
    .option('--parent <file>', 'the image this one was edited from (c2pa.opened + c2pa.edited)')
    .option('--ingredient <file>', 'an image composited into this one (componentOf); repeatable', collect, [])
    .option('--source-type <term>', 'IPTC digitalSourceType term (default trainedAlgorithmicMedia, or compositeWithTrainedAlgorithmicMedia with ingredients)')
    .option('--assertion <file.json>', 'custom assertion {"label","data"} (or an array); repeatable', collect, [])
    .option('--manifest <manifest.json>', 'manifest definition in c2patool format (assertions, title, claim_generator_info, ingredient_paths)')
    .option('--title <title>', 'manifest title (default: output file name)')
    .option('--no-thumbnail', 'do not embed a claim thumbnail (512 px JPEG)')
    .option('--index <path>', `record the signed image for soft-binding recovery in this index (default ${DEFAULT_INDEX_PATH})`)
    .option('--no-index', 'do not record the signed image')
    .option('--clip-model <dir>', 'also store a CLIP embedding (a CLIP model folder) in the index')
    .option('--json', 'print the sign result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  vigil provenance keygen --out dev-keys
  vigil provenance sign generated.png --out signed.png --cert dev-keys/signer.pem --key dev-keys/signer.key.pem --generator "our-diffusion 2.1"
  vigil provenance sign edited.jpg --parent original.jpg --out edited.signed.jpg --cert chain.pem --key key.pem --assertion screening.json
  VIGIL_KEY_PASSPHRASE=... vigil provenance sign a.webp --in-place --cert chain.pem --key encrypted.key.pem`,
    )
    .action(
      action(async (input: string, options: SignCliOptions) => {
        if (!options.out && !options.inPlace) throw invalidArgument('--out', 'an output file (or --in-place)', options.out);
        if (options.out && options.inPlace) throw invalidArgument('--out', 'no --out together with --in-place', options.out);
        if (!options.cert) throw invalidArgument('--cert', 'a certificate chain PEM file', options.cert);
        if (!options.key) throw invalidArgument('--key', 'a private key PEM file', options.key);
        const signer = await loadSigningCredentials({
          certPath: options.cert,
          keyPath: options.key,
          algorithm: options.alg,
          passphraseEnv: options.keyPassphraseEnv,
        });
        const index = options.index === false ? undefined : ProvenanceIndex.open(typeof options.index === 'string' ? options.index : DEFAULT_INDEX_PATH);
        let clip: ClipFingerprinter | undefined;
        try {
          clip = options.clipModel ? await (await import('../../provenance/fingerprint.js')).loadClipFingerprinter(options.clipModel) : undefined;
          const { signImage } = await import('../../provenance/sign.js');
          const result = await signImage({
            input,
            output: options.out ?? input,
            inPlace: options.inPlace === true,
            signer,
            generator: options.generator,
            parent: options.parent,
            ingredients: options.ingredient,
            sourceType: options.sourceType,
            assertionFiles: options.assertion,
            manifestFile: options.manifest,
            title: options.title,
            thumbnail: options.thumbnail,
            index,
            clip,
          });
          if (options.json) printJson(result);
          else {
            const actions = result.actions.map((entry) => `${entry.action}${entry.digitalSourceType ? ` (${entry.digitalSourceType.split('/').pop()})` : ''}`);
            process.stdout.write(
              `signed ${result.output} (${result.algorithm}, ${result.signer})\n  manifest ${result.manifestLabel}: ${actions.join(', ')}\n  read back: ${result.state}${result.indexRecordId ? `; indexed as ${result.indexRecordId} in ${result.indexPath}` : ''}\n`,
            );
          }
          return EXIT.ok;
        } finally {
          await clip?.release();
          index?.close();
        }
      }),
    );

  provenance
    .command('index')
    .description('List the signed images recorded in the provenance index (used for soft-binding recovery)')
    .option('--index <path>', 'the index file', DEFAULT_INDEX_PATH)
    .option('--json', 'print the records as JSON')
    .action(
      action(async (options: { index: string; json?: boolean }) => {
        if (!(await stat(options.index).catch(() => undefined))) {
          throw new VigilInputError(`--index ${options.index}: no provenance index there yet (sign an image to create it)`, { subject: options.index });
        }
        const index = ProvenanceIndex.open(options.index);
        try {
          const records = index.list();
          if (options.json) printJson({ index: index.path, records });
          else {
            const lines = records.map((record) => `${record.id}  ${record.signedAt}  ${record.format.padEnd(10)}  ${record.signedPath}${record.hasClipEmbedding ? '  [clip]' : ''}`);
            process.stdout.write(`${[`${records.length} signed image(s) in ${index.path}`, ...lines].join('\n')}\n`);
          }
          return EXIT.ok;
        } finally {
          index.close();
        }
      }),
    );

  provenance
    .command('keygen')
    .description('Write a development CA and C2PA signing certificate (UNTRUSTED test credentials)')
    .requiredOption('--out <dir>', 'folder for ca.pem, ca.key.pem, signer.pem (chain), signer.key.pem')
    .option('--alg <alg>', `algorithm of the signing key: ${SIGNING_ALGORITHMS.join(', ')}`, 'es256')
    .option('--days <n>', 'validity in days', '365')
    .option('--organization <name>', 'organization name added to the certificate subjects')
    .option('--force', 'replace existing credentials in --out')
    .option('--json', 'print what was written as JSON')
    .action(
      action(async (options: { out: string; alg: string; days: string; organization?: string; force?: boolean; json?: boolean }) => {
        const days = Number(options.days);
        if (!/^\d+$/.test(options.days)) throw invalidArgument('--days', 'an integer from 1 to 3650', options.days);
        const { generateDevCredentials } = await import('../../provenance/keygen.js');
        const result = await generateDevCredentials({
          outDir: options.out,
          algorithm: options.alg,
          days,
          organization: options.organization,
          overwrite: options.force === true,
        });
        if (options.json) printJson(result);
        else {
          process.stdout.write(
            `wrote UNTRUSTED development credentials (${result.algorithm}, valid until ${result.notAfter}):\n${Object.values(result.files)
              .map((file) => `  ${file}`)
              .join('\n')}\nImages signed with them verify as Valid; add ca.pem as a trust anchor only for testing.\n`,
          );
        }
        return EXIT.ok;
      }),
    );
}
