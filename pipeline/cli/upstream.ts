import { runUpstream } from '../upstream/command.js';
import { exitWith, projectContext } from './project.js';

exitWith(runUpstream(process.argv.slice(2), projectContext));
