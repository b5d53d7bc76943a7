import { App, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { SopsSecret } from '../../constructs/secrets/sops-secret.js';
import type { AppChart } from '../../framework/app-chart.js';
import { renderScope } from '../helpers/render.js';

/** Renders one app `web` of cluster `lab` whose build is `build`: its SOPS files and the problems. */
function renderWeb(build: (chart: AppChart) => void) {
  const { app, problems } = renderScope(build);
  return { files: app.encryptedFiles.map(({ entry }) => entry.source), problems };
}

describe('the SOPS file convention', () => {
  it('puts an app Secret at secrets/<cluster>/<app>/<name>.sops.yaml unless a file is given', () => {
    const { files, problems } = renderWeb((chart) => {
      new SopsSecret(chart, 'token', { name: 'api-token', namespace: 'web' });
      new SopsSecret(chart, 'config', { file: chart.sopsFile('web-config'), name: 'web-config', namespace: 'web' });
      new SopsSecret(chart, 'shared', { file: 'secrets/shared/registry.sops.yaml', name: 'registry', namespace: 'web' });
    });
    expect(problems).toEqual([]);
    expect(files).toEqual([
      'secrets/lab/web/api-token.sops.yaml',
      'secrets/lab/web/web-config.sops.yaml',
      'secrets/shared/registry.sops.yaml',
    ]);
  });

  it("refuses a file in another app's folder of the cluster", () => {
    const { problems } = renderWeb((chart) => {
      new SopsSecret(chart, 'stolen', { file: 'secrets/lab/argocd/argocd-secret.sops.yaml', name: 'argocd-secret', namespace: 'web' });
    });
    expect(problems).toEqual([
      'lab/web/stolen: SopsSecret file "secrets/lab/argocd/argocd-secret.sops.yaml" is not in the folder of app web: its files are secrets/lab/web/<name>.sops.yaml (leave file out for the Secret\'s own)',
    ]);
  });

  it('refuses a name that would leave the folder, and a SopsSecret outside an app without its file', () => {
    const { problems } = renderWeb((chart) => {
      new SopsSecret(chart, 'escape', { file: chart.sopsFile('../argocd/argocd-secret'), name: 'argocd-secret', namespace: 'web' });
    });
    expect(problems).toEqual([
      // Said once, by sopsFile; a path outside the project is synth's sops.file finding where the file is read.
      expect.stringMatching(/^lab\/web: sopsFile\("\.\.\/argocd\/argocd-secret"\): the name of a Secret /),
    ]);
    // Deliberately outside an app: there is no app folder to default to.
    const alone = new SopsSecret(new Chart(new App(), 'test'), 'token', { name: 'api-token', namespace: 'web' });
    expect(alone.node.validate()).toEqual([
      "SopsSecret outside an app needs its file: pass file (inside an app it defaults to the app's own)",
    ]);
  });
});
