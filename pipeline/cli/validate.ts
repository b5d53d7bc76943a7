import { runValidate } from '../commands.js';
import { exitWith, projectContext } from './project.js';

exitWith(runValidate(process.argv.slice(2), projectContext));
