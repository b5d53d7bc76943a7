import { runValidate } from '../pipeline/commands.js';
import { exitWith, projectContext } from './project.js';

exitWith(runValidate(process.argv.slice(2), projectContext));
