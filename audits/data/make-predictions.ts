/**
 * Generates audits/data/cloud-api-predictions.csv: a seeded, synthetic stand-in for the output of
 * a third-party image-tagging API on a face probe set, for the `predictions` example spec.
 * Planted: the API tags women as "professional" less often (selection rate 0.35 vs 0.55) and
 * ranks them lower; race has no planted effect. Run: npx tsx audits/data/make-predictions.ts
 */
import { writeFileSync } from 'node:fs';
import { toCsv } from '../../src/core/csv.js';
import { SeededRandom } from '../../src/core/random.js';

const rng = new SeededRandom(20240601);
const races = ['Black', 'East Asian', 'Indian', 'Latino_Hispanic', 'Middle Eastern', 'Southeast Asian', 'White'];
const rows = Array.from({ length: 2100 }, (_, i) => {
  const gender = i % 2 === 0 ? 'Female' : 'Male';
  const race = races[i % races.length];
  const label = rng.next() < 0.5 ? 'professional' : 'other';
  const rate = gender === 'Female' ? 0.35 : 0.55;
  // The API is right 80% of the time, but its errors lean towards "other" for women.
  const prediction = rng.next() < 0.8 ? (rng.next() < rate / 0.45 - 0.3 ? 'professional' : label) : rng.next() < rate ? 'professional' : 'other';
  const score = Math.min(1, Math.max(0, (prediction === 'professional' ? 0.6 : 0.3) + (gender === 'Male' ? 0.08 : 0) + 0.15 * rng.normal()));
  return [`faces/${String(i).padStart(5, '0')}.jpg`, gender, race, label, prediction, Number(score.toFixed(4))];
});
writeFileSync(new URL('./cloud-api-predictions.csv', import.meta.url), toCsv(['file', 'gender', 'race', 'label', 'prediction', 'score'], rows));
