import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Objects each generated app holds: Deployment, Service, Ingress, ConfigMap, ServiceMonitor. */
export const OBJECTS_PER_APP = 5;

/**
 * The composition of a synthetic cluster, written as a real `apps/<cluster>.ts` so the benchmark
 * runs the same CLI path as the default cluster.
 */
function composition(projectRoot: string): string {
  const url = (path: string) => pathToFileURL(resolve(projectRoot, path)).href;
  return `import { k8s } from 'cdk8s-plus-28';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { defineCluster } from '${url('framework/cluster.ts')}';
import { modelObject } from '${url('constructs/core/model-object.ts')}';

interface BenchInventory { apps: number }

export default defineCluster<BenchInventory>({
  parseInventory: (data) => data as BenchInventory,
  // Every app has a ServiceMonitor; prometheus-operator is taken as installed.
  externalCustomResources: () => [{ group: 'monitoring.coreos.com', reason: 'benchmark cluster' }],
  apps: (inventory) =>
    Array.from({ length: inventory.apps }, (_, index) => {
      const name = \`app-\${String(index).padStart(5, '0')}\`;
      return {
        name,
        namespace: name,
        build(chart) {
          const labels = { 'app.kubernetes.io/name': name };
          new k8s.KubeConfigMap(chart, 'config', { metadata: { name }, data: { 'app.conf': \`name=\${name}\\n\` } });
          new k8s.KubeDeployment(chart, 'deployment', {
            metadata: { name, labels },
            spec: {
              replicas: 2,
              selector: { matchLabels: labels },
              template: {
                metadata: { labels },
                spec: {
                  containers: [{
                    name: 'app',
                    image: 'registry.example.com/app:1.0.0',
                    ports: [{ name: 'http', containerPort: 8080 }],
                    volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
                  }],
                  volumes: [{ name: 'config', configMap: { name } }],
                },
              },
            },
          });
          new k8s.KubeService(chart, 'service', {
            metadata: { name, labels },
            spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: k8s.IntOrString.fromString('http') }] },
          });
          new k8s.KubeIngress(chart, 'ingress', {
            metadata: { name, annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' } },
            spec: {
              tls: [{ hosts: [\`\${name}.example.com\`], secretName: \`\${name}-tls\` }],
              rules: [{
                host: \`\${name}.example.com\`,
                http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { name: 'http' } } } }] },
              }],
            },
          });
          modelObject(chart, 'monitor', new ServiceMonitor({
            metadata: { name },
            spec: { selector: { matchLabels: labels }, endpoints: [{ port: 'http', interval: '30s' }] },
          }));
        },
      };
    }),
});
`;
}

/** Writes a project root with `inventory/bench.json` and `apps/bench.ts` rendering `objects` objects. */
export function writeGeneratedCluster(dir: string, projectRoot: string, objects: number): void {
  mkdirSync(join(dir, 'inventory'), { recursive: true });
  mkdirSync(join(dir, 'apps'), { recursive: true });
  writeFileSync(join(dir, 'inventory', 'bench.json'), `${JSON.stringify({ apps: Math.ceil(objects / OBJECTS_PER_APP) })}\n`);
  writeFileSync(join(dir, 'apps', 'bench.ts'), composition(projectRoot));
  // Bare imports (cdk8s, the models) must resolve from the project's node_modules.
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(projectRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
}
