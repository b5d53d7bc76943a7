import { runDiff } from '../pipeline/diff/command.js';
import { exitWith, projectContext } from './project.js';

exitWith(runDiff(process.argv.slice(2), { ...projectContext, terminal: process.stdout.isTTY === true }));
