import { runSynth } from '../pipeline/commands.js';
import { exitWith, projectContext } from './project.js';

exitWith(runSynth(process.argv.slice(2), projectContext));
