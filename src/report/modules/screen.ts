import type { ProbeSummary, ScreenFileResult, ScreenRunResults } from '../../screen/result.js';
import { chartFigure, histogramSpec, PALETTE, timelineSpec, type ChartFigure } from '../charts.js';
import { formatDecimal, formatNumber, formatPercent, verdictInfo } from '../helpers.js';
import { resolveRecordedPath, thumbnail, type Thumbnail } from '../images.js';
import { envelopeReproducibility, type Headline, type ReproducibilityItem, type ReportView, type ViewContext } from '../view.js';
import type { ReportModule } from './module.js';

/** Verdicts that get an evidence card: everything the screen did not clear. */
const FLAGGED = new Set(['likely-synthetic', 'uncertain']);

/** Rows of the triage table at most: the full list is in results.json and the triage CSV. */
const MAX_TRIAGE_ROWS = 500;

/** Longest edge of evidence images: large enough to see spectral peaks and patch errors. */
const EVIDENCE_EDGE = 192;

/** Badge colours of the verdicts (helpers.ts tones), reused by the histogram. */
const VERDICT_COLORS = {
  domain: [verdictInfo('likely-synthetic').text, verdictInfo('uncertain').text, verdictInfo('no-evidence').text],
  range: [PALETTE[1], PALETTE[4], PALETTE[0]],
};

/** Images per evidence card at most: the file itself, the spectrum and the MAE heatmap. */
const IMAGES_PER_CARD = 3;

export const SIGNAL_TITLES: Record<string, string> = {
  spectral: 'Spectral',
  residual: 'Pixel residual (NPR)',
  'clip-probe': 'CLIP probe',
  'mae-recon': 'MAE reconstruction',
  metadata: 'Metadata',
};

export const SCREEN_LIMITATIONS = [
  'Scores are probabilities under the class balance of the training set; the share of synthetic images in your uploads changes what a score means.',
  '“No evidence” never means authentic: generators not represented in training, or images re-encoded, resized or cropped, can evade every signal.',
  'The thresholds were set for a target false-positive rate on held-out real images of the training distribution; other kinds of real images (screenshots, scans, heavy edits) can have a higher false-positive rate.',
  'Metadata cues are easy to strip or forge; only a valid C2PA declaration is trustworthy, and only about who signed it.',
];

/** The banner every screening report carries about its probe: the bundled default is a demonstration. */
export function probeNotes(probe: ProbeSummary, files: readonly ScreenFileResult[] = []): string[] {
  const notes: string[] = [];
  if (probe.origin?.kind === 'bundled-default') notes.push(`Default probe: ${probe.origin.note}.`);
  const outside = files.filter((f) => f.distribution && !f.distribution.inDistribution).length;
  if (outside > 0) {
    notes.push(`${outside} file(s) lie outside what the probe was trained on (out-of-distribution): their verdict is "uncertain" because the screen cannot tell, whatever their score.`);
  }
  return notes;
}

export function probeReproducibility(probe: ProbeSummary): ReproducibilityItem[] {
  return [
    { label: 'Probe', value: probe.path, mono: true },
    { label: 'Probe trained', value: probe.createdAt },
    { label: 'Probe training-set sha256', value: probe.trainingSetSha256, mono: true },
    ...(probe.clipModelSha256 ? [{ label: 'CLIP model sha256', value: probe.clipModelSha256, mono: true }] : []),
    ...(probe.maeModelSha256 ? [{ label: 'MAE model sha256', value: probe.maeModelSha256, mono: true }] : []),
    {
      label: 'Operating points',
      value: `likely-synthetic at ${formatPercent(probe.targetFpr)} and uncertain at ${formatPercent(probe.uncertainFpr)} false-positive rate on held-out real images`,
    },
    { label: 'Probe signals', value: probe.signals.map((s) => SIGNAL_TITLES[s] ?? s).join(', ') },
  ];
}

interface EvidenceCard {
  file: string;
  anchor: string;
  verdict: string;
  score: number | null;
  reasons: string[];
  signals: { id: string; title: string; score: number; detail: string }[];
  findings: string[];
  image?: Thumbnail;
  spectrum?: Thumbnail;
  heatmap?: Thumbnail;
}

function signalRows(file: ScreenFileResult): EvidenceCard['signals'] {
  const rows: EvidenceCard['signals'] = [];
  const { spectral, metadata } = file.signals;
  const residual = file.signals.residual;
  if (residual) rows.push({ id: 'residual', title: SIGNAL_TITLES.residual, score: residual.score, detail: `log-odds ${formatDecimal(residual.raw, 2)}, grid statistic ${formatDecimal(residual.statistic, 2)}` });
  const clip = file.signals['clip-probe'];
  const mae = file.signals['mae-recon'];
  if (spectral) rows.push({ id: 'spectral', title: SIGNAL_TITLES.spectral, score: spectral.score, detail: `log-odds ${formatDecimal(spectral.raw, 2)} over ${spectral.tiles} tile(s) of ${spectral.tile} px` });
  if (clip) rows.push({ id: 'clip-probe', title: SIGNAL_TITLES['clip-probe'], score: clip.score, detail: `log-odds ${formatDecimal(clip.raw, 2)}` });
  if (mae) {
    rows.push({
      id: 'mae-recon',
      title: SIGNAL_TITLES['mae-recon'],
      score: mae.score,
      detail: `reconstruction error ${formatDecimal(mae.reconstructionError, 4)} (z ${formatDecimal(mae.raw, 2)} vs real photos), ${mae.masks} mask(s)`,
    });
  }
  if (metadata) rows.push({ id: 'metadata', title: SIGNAL_TITLES.metadata, score: metadata.score, detail: `cue: ${metadata.cue}${metadata.declared ? ' (declared AI-generated)' : ''}` });
  return rows;
}

async function evidenceCards(files: readonly ScreenFileResult[], context: ViewContext): Promise<{ cards: EvidenceCard[]; omitted: number }> {
  const flagged = files.filter((file) => file.status === 'ok' && file.verdict !== null && FLAGGED.has(file.verdict));
  const budget = Math.floor(context.maxImages / IMAGES_PER_CARD);
  // Sampling would hide the highest scores; the files are sorted by score, so keep the top ones.
  const shown = flagged.slice(0, budget);
  const load = async (path: string | null | undefined, enlargePixelated = false) =>
    path ? thumbnail(resolveRecordedPath(path, context.baseDir, context.imagesUnder), EVIDENCE_EDGE, { enlargePixelated }) : undefined;
  const cards: EvidenceCard[] = [];
  for (const [index, file] of shown.entries()) {
    cards.push({
      file: file.file,
      anchor: `evidence-${index + 1}`,
      verdict: file.verdict as string,
      score: file.score,
      reasons: file.reasons,
      signals: signalRows(file),
      findings: file.signals.metadata?.findings ?? [],
      image: await load(file.file),
      spectrum: await load(file.signals.spectral?.evidence, true),
      heatmap: await load(file.signals['mae-recon']?.evidence, true),
    });
  }
  return { cards, omitted: flagged.length - shown.length };
}

/** Videos with a timeline chart at most (each is an SVG of a few KB; every timeline is in results.json). */
const MAX_TIMELINES = 20;

interface VideoTimeline {
  file: string;
  anchor: string;
  verdict: string;
  score: number | null;
  /** Why the video got its verdict (e.g. out-of-distribution), as the triage table's reason. */
  reason?: string;
  framesScored: number;
  framesSampled: number;
  sampleFps: number;
  chart?: ChartFigure;
  seconds: { second: number; frames: number; maxScore: number; meanScore: number; verdict: string }[];
}

/** Per video: P(synthetic) per second with the verdict bands (a chart in HTML) and the same numbers as a table. */
async function videoTimelines(files: readonly ScreenFileResult[], context: ViewContext): Promise<{ timelines: VideoTimeline[]; omitted: number }> {
  const videos = files.filter((file) => file.video !== undefined && file.video.timeline.length > 0);
  const shown = videos.slice(0, MAX_TIMELINES);
  const timelines: VideoTimeline[] = [];
  for (const [index, file] of shown.entries()) {
    const video = file.video!;
    const seconds = video.timeline.map((entry) => ({ ...entry, verdict: entry.verdict ?? 'error' }));
    const worst = video.timeline.reduce((a, b) => (b.maxScore > a.maxScore ? b : a));
    const thresholds = file.thresholds ?? undefined;
    const chart = context.visuals
      ? await chartFigure(
          timelineSpec(
            video.timeline.map((entry) => ({ second: entry.second, maxScore: entry.maxScore, meanScore: entry.meanScore, verdict: verdictInfo(entry.verdict).text })),
            { colors: VERDICT_COLORS, ...(thresholds ? { thresholds: { uncertain: thresholds.uncertain, likelySynthetic: thresholds.likelySynthetic } } : {}) },
          ),
          `P(synthetic) per second of ${file.file} over ${video.timeline.length} second(s): highest ${formatDecimal(worst.maxScore)} in second ${worst.second} (${verdictInfo(worst.verdict).text.toLowerCase()}); ${video.timeline.filter((t) => t.verdict === 'likely-synthetic').length} second(s) likely synthetic, ${video.timeline.filter((t) => t.verdict === 'uncertain').length} uncertain.`,
          thresholds
            ? `Highest frame P(synthetic) of each second (solid, points coloured by that second's verdict) and the mean of its frames (dashed), over the verdict bands: uncertain from ${formatDecimal(thresholds.uncertain)}, likely synthetic from ${formatDecimal(thresholds.likelySynthetic)}.`
            : 'Highest frame P(synthetic) of each second (solid, points coloured by verdict) and the mean of its frames (dashed).',
        )
      : undefined;
    timelines.push({
      file: file.file,
      anchor: `timeline-${index + 1}`,
      verdict: file.verdict ?? 'error',
      score: file.score,
      reason: file.reasons[0],
      framesScored: video.framesScored,
      framesSampled: video.framesSampled,
      sampleFps: video.sampleFps,
      ...(chart ? { chart } : {}),
      seconds,
    });
  }
  return { timelines, omitted: videos.length - shown.length };
}

async function scoreHistogram(result: ScreenRunResults, context: ViewContext): Promise<ChartFigure | undefined> {
  const scored = result.files.filter((file) => file.score !== null);
  if (!context.visuals || scored.length === 0) return undefined;
  // Thresholds depend on which signals ran; draw them only when every file shares the same ones.
  const thresholdKeys = new Set(scored.map((file) => JSON.stringify(file.thresholds)));
  const thresholds = thresholdKeys.size === 1 ? scored[0].thresholds : null;
  const spec = histogramSpec(
    scored.map((file) => ({ score: file.score as number, series: verdictInfo(file.verdict).text })),
    {
      scoreTitle: 'P(synthetic)',
      colors: VERDICT_COLORS,
      thresholds: thresholds
        ? [
            { value: thresholds.uncertain, label: 'uncertain threshold' },
            { value: thresholds.likelySynthetic, label: 'likely-synthetic threshold' },
          ]
        : [],
    },
  );
  const counts = Object.entries(result.summary.verdicts)
    .map(([verdict, n]) => `${n} ${verdictInfo(verdict).text.toLowerCase()}`)
    .join(', ');
  return chartFigure(
    spec,
    `Histogram of fused P(synthetic) over ${scored.length} files: ${counts}.`,
    thresholds
      ? `Fused P(synthetic) of every screened file, coloured by verdict; dashed lines: the uncertain (${formatDecimal(thresholds.uncertain)}) and likely-synthetic (${formatDecimal(thresholds.likelySynthetic)}) thresholds.`
      : 'Fused P(synthetic) of every screened file, coloured by verdict (thresholds differ between files because different signals ran).',
  );
}

export const screenModule: ReportModule<ScreenRunResults> = {
  schema: 'vigil/screen',
  async buildView(result, context) {
    const signals = result.signalsRequested;
    const triage = result.files.slice(0, MAX_TRIAGE_ROWS).map((file, index) => ({
      rank: index + 1,
      file: file.file,
      status: file.status,
      error: file.error,
      media: file.media,
      verdict: file.verdict ?? 'error',
      score: file.score,
      reason: file.reasons[0],
      signalScores: signals.map((id) => ({ id, score: file.signals[id]?.score ?? null })),
      missing: file.signalsMissing.map((m) => `${SIGNAL_TITLES[m.signal] ?? m.signal}: ${m.reason}`),
      video: file.video
        ? { framesScored: file.video.framesScored, framesSampled: file.video.framesSampled, timeline: file.video.timeline }
        : undefined,
    }));
    const { cards, omitted } = await evidenceCards(result.files, context);
    const { timelines, omitted: timelinesOmitted } = await videoTimelines(result.files, context);
    const notes: string[] = probeNotes(result.probe, result.files);
    if (result.files.length > MAX_TRIAGE_ROWS) {
      notes.push(
        `The triage table lists the ${MAX_TRIAGE_ROWS} highest-scoring of ${result.files.length} files; every file is in results.json${result.csv ? ` and ${result.csv}` : ''}.`,
      );
    }
    if (timelinesOmitted > 0) notes.push(`Timelines are shown for the first ${timelines.length} videos; ${timelinesOmitted} more are in results.json.`);
    if (omitted > 0 && context.visuals) {
      notes.push(`Evidence is shown for the ${cards.length} highest-scoring flagged files; ${omitted} more flagged file(s) are in the triage table only (image budget ${context.maxImages}).`);
    }
    const { verdicts } = result.summary;
    const screened = result.summary.files - result.summary.errors;
    const errors = result.summary.errors > 0 ? `; ${result.summary.errors} could not be screened` : '';
    const headline: Headline =
      verdicts['likely-synthetic'] > 0
        ? { label: 'FLAGGED', tone: 'bad', text: `${verdicts['likely-synthetic']} of ${screened} screened file(s) are likely synthetic and ${verdicts.uncertain} uncertain${errors}; review the flagged files' evidence below.` }
        : verdicts.uncertain > 0
          ? { label: 'UNCERTAIN', tone: 'warn', text: `no file is likely synthetic, but ${verdicts.uncertain} of ${screened} screened file(s) are uncertain${errors}; a screen never certifies a file authentic.` }
          : { label: 'NO EVIDENCE', tone: 'neutral', text: `none of the ${screened} screened file(s) shows evidence of synthesis${errors}; this does not certify them authentic.` };
    const view: ReportView = {
      headline,
      partial: 'screen',
      kindLabel: 'Synthetic-media screening',
      title: `Screening of ${formatNumber(result.summary.files)} file(s)`,
      subtitle: `Signals: ${signals.map((s) => SIGNAL_TITLES[s] ?? s).join(', ')}. Scores are the calibrated probability that a file is synthetic (AI-generated).`,
      summary: [
        { key: 'files', label: 'Files', value: formatNumber(result.summary.files), raw: result.summary.files },
        { key: 'likely-synthetic', label: 'Likely synthetic', value: formatNumber(verdicts['likely-synthetic']), raw: verdicts['likely-synthetic'] },
        { key: 'uncertain', label: 'Uncertain', value: formatNumber(verdicts.uncertain), raw: verdicts.uncertain },
        { key: 'no-evidence', label: 'No evidence', value: formatNumber(verdicts['no-evidence']), raw: verdicts['no-evidence'] },
        { key: 'errors', label: 'Could not be screened', value: formatNumber(result.summary.errors), raw: result.summary.errors },
      ],
      sections: [
        { id: 'triage', title: 'Triage' },
        { id: 'scores', title: 'Score distribution' },
        ...(timelines.length > 0 ? [{ id: 'timelines', title: 'Video timelines' }] : []),
        { id: 'evidence', title: 'Evidence for flagged files' },
      ],
      notes,
      body: {
        signals: signals.map((id) => ({ id, title: SIGNAL_TITLES[id] ?? id })),
        triage,
        histogram: await scoreHistogram(result, context),
        timelines,
        cards,
        csv: result.csv,
        targetFpr: result.probe.targetFpr,
        uncertainFpr: result.probe.uncertainFpr,
      },
      reproducibility: [...envelopeReproducibility(result), ...probeReproducibility(result.probe)],
      limitations: SCREEN_LIMITATIONS,
    };
    return view;
  },
};
