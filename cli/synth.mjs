// `npm run synth`: cli/synth.ts, from the one-file build of the project's commands (cli/launch.mjs).
import { launch } from './launch.mjs';

await launch('synth');
