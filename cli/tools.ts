import { installTools, TOOLS_DIR } from '../pipeline/deep/tools.js';
import { projectContext } from './project.js';

// Installs the helm and kubectl the deep build runs (npm run synth -- --deep) into .tools/.
try {
  installTools(projectContext.root, (line) => process.stdout.write(`tools: ${line}\n`));
} catch (error) {
  process.stderr.write(
    `tools: cannot install into ${TOOLS_DIR}/: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}\n`,
  );
  process.exitCode = 1;
}
