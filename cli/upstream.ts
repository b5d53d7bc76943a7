import { runUpstream } from '../pipeline/upstream/command.js';
import { exitWith, projectContext } from './project.js';

exitWith(runUpstream(process.argv.slice(2), projectContext));
