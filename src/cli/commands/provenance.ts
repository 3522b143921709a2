import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { invalidArgument, VigilInputError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { checkOutputFile, checkOutputFolder } from '../../core/output.js';
import { resultsJson } from '../../core/results.js';
import { loadSigningCredentials, DEFAULT_PASSPHRASE_ENV } from '../../provenance/credentials.js';
import { SIGNING_ALGORITHMS } from '../../provenance/cose.js';
import type { ClipFingerprinter } from '../../provenance/fingerprint.js';
import type { ProvenanceResults } from '../../provenance/result.js';
import { DEFAULT_INDEX_PATH, ProvenanceIndex } from '../../provenance/soft-binding.js';
import { createEnginePool, defaultEngineWorkers } from '../../provenance/engine-pool.js';
import { PROVENANCE_MIME_TYPES } from '../../provenance/formats.js';
import { DEFAULT_REMOTE_LIMITS } from '../../provenance/remote.js';
import { printable } from '../../core/printable.js';
import { formatTrustText, formatVerifyText } from '../../provenance/text.js';
import { describeTrustList, loadTrustLists } from '../../provenance/trust.js';
import { verifyPaths } from '../../provenance/verify.js';
import { collectFiles, DEFAULT_MAX_FILE_BYTES } from '../../provenance/walk.js';
import { action, EXIT, printJson } from '../run.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function positiveInteger(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw invalidArgument(option, 'a positive integer', value);
  return Number(value);
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
  if (summary.errors > 0 || (summary.unreadable ?? 0) > 0) return EXIT.inputError;
  if (requireManifest && results.files.some((file) => file.state === 'NoManifest' && file.softBinding?.match === undefined)) return EXIT.verdictFail;
  return EXIT.ok;
}

interface VerifyCliOptions {
  trustAnchors: string[];
  tsaAnchors: string[];
  cawgAnchors: string[];
  include: string[];
  exclude: string[];
  followSymlinks?: boolean;
  sidecar?: boolean;
  fetchRemote?: boolean;
  remoteMaxBytes?: string;
  remoteTimeoutMs?: string;
  maxFileSize?: string;
  workers?: string;
  json?: boolean;
  out?: string;
  index?: string | boolean;
  clipModel?: string;
  requireManifest?: boolean;
  thumbnails?: boolean;
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
  allowInvalidParent?: boolean;
  tsa?: string;
  sidecar?: boolean;
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
    .description('Verify C2PA Content Credentials of images, video, audio, PDF and SVG: state, AI disclosure across the manifest chain, explained status codes, signer, ingredients')
    .argument('<paths...>', 'files or folders (every file in a folder is verified or listed as skipped)')
    .option('--trust-anchors <name=file>', 'a named signer trust list: PEM bundle or JSON trust list; CA certificates are anchors, end-entity certificates an allowed list; repeatable', collect, [])
    .option('--tsa-anchors <name=file>', 'time-stamp authority anchors (PEM or JSON); a trusted time-stamp lets a signature be judged at its time; repeatable', collect, [])
    .option('--cawg-anchors <name=file>', 'CAWG identity (X.509) credential anchors (PEM or JSON); repeatable', collect, [])
    .option('--include <glob>', 'in folders, verify only files matching this glob (relative to the folder); repeatable', collect, [])
    .option('--exclude <glob>', 'in folders, skip files matching this glob; repeatable', collect, [])
    .option('--follow-symlinks', 'follow symbolic links out of the given folders (default: such links are listed as skipped)')
    .option('--sidecar', 'verify an asset without an embedded manifest against <name>.c2pa next to it')
    .option('--fetch-remote', 'fetch remote (cloud) manifests (off: they are reported as manifest.inaccessible)')
    .option('--remote-max-bytes <n>', `size limit of a fetched remote manifest (default ${DEFAULT_REMOTE_LIMITS.maxBytes})`)
    .option('--remote-timeout-ms <n>', `time limit of a remote manifest fetch (default ${DEFAULT_REMOTE_LIMITS.timeoutMs})`)
    .option('--max-file-size <bytes>', `skip (and list) files larger than this (default ${DEFAULT_MAX_FILE_BYTES}); each file is read whole`)
    .option('--workers <n>', `c2pa-rs instances verifying files in parallel (default ${defaultEngineWorkers()}: the cores, at most 4; memory holds this many files)`)
    .option('--json', 'print the results document on stdout')
    .option('--out <dir>', 'write results.json and report.html to this folder')
    .option('--index <path>', `provenance index for files without a manifest (default ${DEFAULT_INDEX_PATH} when it exists)`)
    .option('--no-index', 'do not look up files without a manifest')
    .option('--clip-model <dir>', 'also compare CLIP embeddings (a CLIP model folder) in soft-binding lookups')
    .option('--require-manifest', 'exit 1 when a file has no manifest (and no soft-binding match)')
    .option('--thumbnails', 'carry the claim and ingredient thumbnails (JPEG/PNG, at most 128 KiB each) in the results, shown in the ingredient tree of the report')
    .addHelpText(
      'after',
      `
States: Trusted (intact, signer on a trust list), Valid (intact, signer not on any list you gave),
Invalid (tampered or broken), NoManifest (no credentials; not an error unless --require-manifest),
Unreadable (cannot be parsed and no manifest found, or a remote manifest not fetched: cannot tell).
AI disclosure: declared, editedWithAi, containsAiIngredient, vendorAssertion, weakCue (free text only), none.
Formats: ${PROVENANCE_MIME_TYPES.join(', ')}.
Exit codes: 0 no Invalid file, 1 any Invalid (or NoManifest with --require-manifest), 2 a file could not be verified or is Unreadable.

Examples:
  vigil provenance verify photo.jpg
  vigil provenance verify uploads/ --trust-anchors official=c2pa-trust-list.pem --trust-anchors interim=interim.pem
  vigil provenance verify image.png --json | jq '.files[0].state'
  vigil provenance verify images/ --out reports/provenance
  vigil provenance verify media/ --include '**/*.mp4' --exclude 'drafts/**' --sidecar --tsa-anchors tsa=tsa-roots.pem`,
    )
    .action(
      action(async (paths: string[], options: VerifyCliOptions) => {
        if (options.out) await checkOutputFolder(options.out);
        const trustLists = await loadTrustLists({ signer: options.trustAnchors, tsa: options.tsaAnchors, cawg: options.cawgAnchors });
        const walk = await collectFiles(paths, {
          include: options.include,
          exclude: options.exclude,
          followSymlinks: options.followSymlinks === true,
          sidecar: options.sidecar === true,
          maxFileBytes: positiveInteger('--max-file-size', options.maxFileSize, DEFAULT_MAX_FILE_BYTES),
        });
        const fetchRemote = options.fetchRemote
          ? {
              maxBytes: positiveInteger('--remote-max-bytes', options.remoteMaxBytes, DEFAULT_REMOTE_LIMITS.maxBytes),
              timeoutMs: positiveInteger('--remote-timeout-ms', options.remoteTimeoutMs, DEFAULT_REMOTE_LIMITS.timeoutMs),
            }
          : undefined;
        const index = await openIndexForVerify(options.index);
        const workers = positiveInteger('--workers', options.workers, defaultEngineWorkers());
        // A pool pays a wasm start-up per worker: worth it only for several files.
        const pool = workers > 1 && walk.files.length > 2 ? createEnginePool(workers) : undefined;
        let clip: ClipFingerprinter | undefined;
        try {
          // The CLIP model (onnxruntime) loads only when asked for.
          clip = options.clipModel ? await (await import('../../provenance/fingerprint.js')).loadClipFingerprinter(options.clipModel) : undefined;
          const results = await verifyPaths(walk.files, {
            trustLists,
            quiet: options.json === true,
            skipped: walk.skipped,
            sidecars: walk.sidecars,
            thumbnails: options.thumbnails === true,
            ...(pool ? { engine: pool.read, concurrency: pool.size } : {}),
            ...(fetchRemote === undefined ? {} : { fetchRemote }),
            ...(index ? { softBinding: { lookup: (bytes: Uint8Array, lookup: { subject: string }) => index.lookup(bytes, { ...lookup, clip }) } } : {}),
          });
          if (options.out) {
            // File paths are recorded as given, so thumbnails resolve against the working directory.
            await writeFileAtomic(join(options.out, 'results.json'), resultsJson(results));
            await writeFileAtomic(join(options.out, 'report.html'), await (await import('../../report/render.js')).renderReport(results, { baseDir: process.cwd() }));
          }
          if (options.json) printJson(results);
          else process.stdout.write(formatVerifyText(results));
          return verifyExitCode(results, options.requireManifest === true);
        } finally {
          await pool?.close();
          await clip?.release();
          index?.close();
        }
      }),
    );

  provenance
    .command('sign')
    .description('Embed and sign a C2PA manifest declaring how a file was made (a new file defaults to created by generative AI; an edit declares only what --source-type says)')
    .argument('<in>', 'file to sign (JPEG, PNG, WebP, TIFF, GIF, AVIF, HEIF, MP4, MOV, M4A, WAV, MP3, PDF, SVG, ...)')
    .option('--out <file>', 'signed output file')
    .option('--in-place', 'overwrite the input instead of writing --out')
    .option('--cert <chain.pem>', 'signing certificate chain, leaf first')
    .option('--key <key.pem>', 'private key (PKCS#8 or SEC1 PEM, optionally encrypted)')
    .option('--alg <alg>', `signing algorithm: ${SIGNING_ALGORITHMS.join(', ')} (default: from the key)`)
    .option('--key-passphrase-env <NAME>', 'environment variable holding the passphrase of an encrypted key', DEFAULT_PASSPHRASE_ENV)
    .option('--generator <"name version">', 'generating software: softwareAgent of the actions and claim generator')
    .option('--parent <file>', 'the image this one was edited from (c2pa.opened + c2pa.edited)')
    .option('--ingredient <file>', 'an image composited into this one (componentOf); repeatable', collect, [])
    .option(
      '--source-type <term>',
      'IPTC digitalSourceType term (digitalCapture, humanEdits, trainedAlgorithmicMedia, compositeWithTrainedAlgorithmicMedia, ...); default: trainedAlgorithmicMedia for a new file, none for an edit of --parent, composite with --ingredient',
    )
    .option('--sidecar', 'write the manifest to <out name>.c2pa next to the output instead of embedding it (formats bound by a data hash: images, WAV, MP3, PDF, SVG)')
    .option('--allow-invalid-parent', 'sign even when the parent or an ingredient has Invalid Content Credentials (recorded as a warning)')
    .option('--tsa <url>', 'RFC 3161 time-stamp authority: the signature gets a time-stamp (sigTst2), so it stays verifiable at that time after the certificate expires')
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
  vigil provenance sign edited.jpg --parent original.jpg --out edited.signed.jpg --cert chain.pem --key key.pem --source-type humanEdits
  vigil provenance sign clip.mp4 --out clip.signed.mp4 --cert chain.pem --key key.pem --source-type digitalCapture --tsa http://tsa.example/tsr
  VIGIL_KEY_PASSPHRASE=... vigil provenance sign a.webp --in-place --cert chain.pem --key encrypted.key.pem`,
    )
    .action(
      action(async (input: string, options: SignCliOptions) => {
        if (!options.out && !options.inPlace) throw invalidArgument('--out', 'an output file (or --in-place)', options.out);
        if (options.out && options.inPlace) throw invalidArgument('--out', 'no --out together with --in-place', options.out);
        if (!options.cert) throw invalidArgument('--cert', 'a certificate chain PEM file', options.cert);
        if (!options.key) throw invalidArgument('--key', 'a private key PEM file', options.key);
        if (options.out) await checkOutputFile(options.out);
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
            allowInvalidParent: options.allowInvalidParent === true,
            sidecar: options.sidecar === true,
            ...(options.tsa ? { timestamp: (await import('../../provenance/tsa.js')).rfc3161Provider(options.tsa) } : {}),
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
              `signed ${result.output} (${result.algorithm}, ${result.signer}${result.timestamped ? ', time-stamped' : ''})\n  manifest ${result.manifestLabel}: ${actions.join(', ')}\n  read back: ${result.state}${result.indexRecordId ? `; indexed as ${result.indexRecordId} in ${result.indexPath}` : ''}\n`,
            );
          }
          // Warnings go to stderr, so --json output stays one document.
          for (const warning of result.warnings) process.stderr.write(`warning: ${printable(warning)}\n`);
          return EXIT.ok;
        } finally {
          await clip?.release();
          index?.close();
        }
      }),
    );

  provenance
    .command('trust')
    .description('Show the trust input verify would use: each list, its purpose, anchors, allowed end-entity certificates and unusable entries')
    .option('--trust-anchors <name=file>', 'a named signer trust list (PEM or JSON); repeatable', collect, [])
    .option('--tsa-anchors <name=file>', 'time-stamp authority anchors (PEM or JSON); repeatable', collect, [])
    .option('--cawg-anchors <name=file>', 'CAWG identity anchors (PEM or JSON); repeatable', collect, [])
    .option('--json', 'print the lists as JSON')
    .addHelpText(
      'after',
      `
Examples:
  vigil provenance trust --trust-anchors official=C2PA-TRUST-LIST.pem --tsa-anchors tsa=C2PA-TSA-TRUST-LIST.pem
  vigil provenance trust --trust-anchors partners=trust-list.json --json`,
    )
    .action(
      action(async (options: { trustAnchors: string[]; tsaAnchors: string[]; cawgAnchors: string[]; json?: boolean }) => {
        const lists = await loadTrustLists({ signer: options.trustAnchors, tsa: options.tsaAnchors, cawg: options.cawgAnchors });
        if (lists.length === 0) throw invalidArgument('--trust-anchors', 'at least one trust list (--trust-anchors, --tsa-anchors or --cawg-anchors)', undefined);
        if (options.json) printJson({ trustLists: lists.map(describeTrustList) });
        else process.stdout.write(formatTrustText(lists));
        return EXIT.ok;
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
        await checkOutputFolder(options.out);
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
