import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Root of the vigil package (works from src/ under tsx and from dist/ after tsc). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export const VIGIL_VERSION: string = pkg.version;
