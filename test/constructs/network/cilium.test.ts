import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { describe, expect, it } from 'vitest';
import { ciliumApp } from '../../../apps/cilium.js';
import cluster from '../../../apps/k8s-235.js';
import { BgpPeering } from '../../../constructs/network/bgp.js';
import { Cilium } from '../../../constructs/network/cilium.js';
import { LB_IPS_ANNOTATION, LoadBalancerPool, loadBalancerAddressAddon } from '../../../constructs/network/lb-ipam.js';
import type { AppChart } from '../../../framework/app-chart.js';
import { registeredPolicies } from '../../../framework/cluster.js';
import { formatProblem } from '../../../framework/model.js';
import { parseInventory } from '../../../inventory/schema.js';
import { projectRoot } from '../../helpers/io.js';
import { renderApp, renderScope } from '../../helpers/render.js';

const inventory = parseInventory(JSON.parse(readFileSync(join(projectRoot, 'inventory/k8s-235.json'), 'utf8')), 'k8s-235');
const CHART = resolve(projectRoot, '..', 'shared', 'upstream', 'charts', 'cilium-1.19.6', 'cilium');

const ciliumProps = {
  apiServer: { host: 'api.lab.example', port: 6443 },
  podCidrs: ['10.234.128.0/18', '2a10:4741:36:32:2::/104'],
  nativeRoutingCidrs: { ipv4: '10.234.0.0/16', ipv6: '2a10:4741:36:32::/64' },
  mtu: 1400,
  nodes: 3,
  reservedRanges: [{ cidr: '192.0.2.0/24', what: "the hosts' IPv4 subnet" }],
};

/** A LoadBalancer Service in namespace `web`. */
function loadBalancer(chart: AppChart, name: string, annotations: Record<string, string> = {}) {
  return new k8s.KubeService(chart, name, {
    metadata: { name, namespace: 'web', annotations },
    spec: { type: 'LoadBalancer', ipFamilies: ['IPv4'], selector: { app: name }, ports: [{ name: 'https', port: 443 }] },
  });
}

describe('the cilium app', () => {
  const rendered = renderApp(cluster.apps(inventory), { name: 'cilium', cluster: 'k8s-235', inventory, addons: cluster.addons });
  const cilium = rendered.app as unknown as { helmCharts: { name: string; version: string; valuesInline: Record<string, unknown> }[] };
  const traefik = rendered.result.apps.find((app) => app.name === 'traefik');

  it('pins the chart and derives its values from the inventory', () => {
    expect(rendered.problems).toEqual([]);
    const chart = cilium.helmCharts[0];
    expect(chart).toMatchObject({ name: 'cilium', version: '1.19.6' });
    expect(chart?.valuesInline).toMatchObject({
      kubeProxyReplacement: true,
      k8sServiceHost: 'api.k8s.235.tdude.co',
      k8sServicePort: 6443,
      routingMode: 'native',
      ipv4NativeRoutingCIDR: '10.234.0.0/16',
      ipv6NativeRoutingCIDR: '2a10:4741:36:32::/64',
      enableIPv4Masquerade: false,
      enableIPv6Masquerade: false,
      MTU: 1400,
      ipam: { mode: 'kubernetes' },
      ipv4: { enabled: true },
      ipv6: { enabled: true },
      autoDirectNodeRoutes: true,
      bgpControlPlane: { enabled: true },
      operator: { replicas: 2, rollOutPods: true },
      hubble: { relay: { enabled: true }, tls: { auto: { method: 'cronJob' } } },
      // A changed configuration reaches the agents, one node at a time.
      rollOutCiliumPods: true,
      updateStrategy: { rollingUpdate: { maxUnavailable: 1 } },
    });
  });

  it('keeps the network when its Application is deleted: no cascade finalizer on it, as on the other apps', () => {
    const gitops = rendered.result.apps.find((app) => app.name === 'gitops');
    const finalizers = (name: string) =>
      (
        gitops?.objects.find(
          (object) => object.manifest.kind === 'Application' && (object.manifest.metadata as { name?: string }).name === name,
        )?.manifest.metadata as { finalizers?: string[] } | undefined
      )?.finalizers;
    expect(finalizers('cilium')).toBeUndefined();
    expect(finalizers('traefik')).toEqual(['resources-finalizer.argocd.argoproj.io']);
  });

  it('gives values the chart schema of the pinned version accepts', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    const valid = validate(cilium.helmCharts[0]?.valuesInline);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // The same schema refuses a value of the wrong type: the check can fail.
    expect(validate({ ...cilium.helmCharts[0]?.valuesInline, MTU: '1400' })).toBe(false);
  });

  it('peers with every inventory peer and announces LoadBalancer addresses and pod CIDRs', () => {
    const config = rendered.get('CiliumBGPClusterConfig', 'cilium-bgp') as { spec: { bgpInstances: unknown[] } };
    expect(config.spec.bgpInstances).toEqual([
      {
        name: 'instance-64513',
        localASN: 64513,
        peers: [
          { name: 'router-ipv4', peerAddress: '192.0.2.1', peerASN: 64512, peerConfigRef: { name: 'cilium-bgp-router-ipv4' } },
          { name: 'router-ipv6', peerAddress: '2001:db8:235::1', peerASN: 64512, peerConfigRef: { name: 'cilium-bgp-router-ipv6' } },
        ],
      },
    ]);
    const advertisement = rendered.get('CiliumBGPAdvertisement', 'cilium-bgp') as {
      spec: { advertisements: { advertisementType: string }[] };
    };
    expect(advertisement.spec.advertisements.map((entry) => entry.advertisementType)).toEqual(['Service', 'PodCIDR']);
    const pool = rendered.get('CiliumLoadBalancerIPPool', 'services') as { spec: unknown };
    expect(pool.spec).toEqual({ blocks: [{ cidr: '198.51.100.0/27' }, { cidr: '2001:db8:235:100::/120' }] });
  });

  it("gives Traefik's LoadBalancer Services their inventory addresses", () => {
    const service = (name: string) =>
      traefik?.objects.find((object) => object.manifest.kind === 'Service' && (object.manifest.metadata as { name?: string }).name === name)
        ?.manifest as { metadata: { annotations: Record<string, string> } };
    const v4 = service('traefik-ipv4');
    const v6 = service('traefik-ipv6');
    expect(v4.metadata.annotations[LB_IPS_ANNOTATION]).toBe('198.51.100.10');
    expect(v6.metadata.annotations[LB_IPS_ANNOTATION]).toBe('2001:db8:235:100::10');
  });

  it('is listed first after the monitoring CRDs, and renders into kube-system', () => {
    expect(ciliumApp.namespace).toBe('kube-system');
    expect(ciliumApp.dependsOn?.map((app) => app.name)).toEqual(['monitoring-crds']);
  });
});

/** The network policy's problems over what `build` renders: the policy as the constructs registered it. */
function networkProblems(build: (chart: AppChart) => void, options: Parameters<typeof renderScope>[1] = {}): string[] {
  const rendered = renderScope((chart) => {
    build(chart);
    return chart;
  }, options);
  expect(rendered.problems).toEqual([]);
  const objects = rendered.app.objects.map((sourced) => ({ app: 'web', manifest: sourced.manifest, origin: sourced.origin }));
  return registeredPolicies(rendered.built)
    .flatMap((policy) => policy.check(objects, { syncsAfter: () => false }))
    .filter((problem) => problem.rule.startsWith('network.'))
    .map(formatProblem);
}

describe('the network checks', () => {
  it('fails pools that overlap each other, the pod CIDR or the hosts, at the pool', () => {
    const problems = networkProblems((chart) => {
      new Cilium(chart, 'cilium', ciliumProps);
      new LoadBalancerPool(chart, 'a', { name: 'a', blocks: ['198.51.100.0/28'] });
      new LoadBalancerPool(chart, 'b', { name: 'b', blocks: ['198.51.100.8-198.51.100.20', '10.234.130.0/24', '192.0.2.200/29'] });
    });
    expect(problems).toEqual([
      'lab/web/b/Resource: CiliumLoadBalancerIPPool b: block 198.51.100.8-198.51.100.20 overlaps 198.51.100.0/28 of pool a: LB-IPAM marks this pool Conflicting and allocates nothing from it; make the pools disjoint [network.pool-overlap]',
      'lab/web/b/Resource: CiliumLoadBalancerIPPool b: block 10.234.130.0/24 overlaps the IPv4 pod CIDR 10.234.128.0/18: LoadBalancer addresses must come from a range nothing else uses [network.pool-overlap]',
      "lab/web/b/Resource: CiliumLoadBalancerIPPool b: block 192.0.2.200/29 overlaps the hosts' IPv4 subnet 192.0.2.0/24: LoadBalancer addresses must come from a range nothing else uses [network.pool-overlap]",
    ]);
  });

  it('fails an address outside every pool that serves the Service, and one address requested twice without a sharing key', () => {
    const problems = networkProblems((chart) => {
      new Cilium(chart, 'cilium', ciliumProps);
      new LoadBalancerPool(chart, 'public', { name: 'public', blocks: ['198.51.100.0/28'] });
      new LoadBalancerPool(chart, 'internal', {
        name: 'internal',
        blocks: ['203.0.113.0/28'],
        serviceSelector: { 'io.kubernetes.service.namespace': 'internal' },
      });
      loadBalancer(chart, 'one', { [LB_IPS_ANNOTATION]: '203.0.113.5' });
      loadBalancer(chart, 'two', { [LB_IPS_ANNOTATION]: '198.51.100.3' });
      loadBalancer(chart, 'three', { [LB_IPS_ANNOTATION]: '198.51.100.3' });
      // The same address with one sharing key on both is allowed.
      loadBalancer(chart, 'four', { [LB_IPS_ANNOTATION]: '198.51.100.4', 'lbipam.cilium.io/sharing-key': 'k' });
      loadBalancer(chart, 'five', { [LB_IPS_ANNOTATION]: '198.51.100.4', 'lbipam.cilium.io/sharing-key': 'k' });
    });
    expect(problems).toEqual([
      'lab/web/one: Service web/one: requests 203.0.113.5 (lbipam.cilium.io/ips), which lies in no pool that serves it (public: 198.51.100.0/28) [network.lb-address]',
      'lab/web/three: Service web/three: requests 198.51.100.3, which web/two requests too: give both the same lbipam.cilium.io/sharing-key (and distinct ports) to share it, or another address [network.lb-address]',
    ]);
  });

  it('fails a LoadBalancer Service no pool serves, or of a class LB-IPAM ignores', () => {
    const problems = networkProblems((chart) => {
      new Cilium(chart, 'cilium', ciliumProps);
      new LoadBalancerPool(chart, 'v6', { name: 'v6', blocks: ['2001:db8:235:100::/120'] });
      loadBalancer(chart, 'web');
      const other = loadBalancer(chart, 'metallb');
      other.addJsonPatch(JsonPatch.add('/spec/loadBalancerClass', 'metallb.io/metallb'));
    });
    expect(problems).toEqual([
      'lab/web/web: Service web/web: no pool that serves web/web has IPv4 addresses, which its ipFamilies ask for [network.lb-unserved]',
      'lab/web/metallb: Service web/metallb: loadBalancerClass metallb.io/metallb is not one LB-IPAM serves (none, io.cilium/bgp-control-plane, io.cilium/l2-announcer): the Service would get no address and BGP would not announce it [network.lb-unserved]',
    ]);
    const none = networkProblems((chart) => {
      new Cilium(chart, 'cilium', ciliumProps);
      loadBalancer(chart, 'web');
    });
    expect(none).toEqual([
      'lab/web/web: Service web/web: no CiliumLoadBalancerIPPool serves web/web (pools: none): it would stay Pending without an address; add a pool whose serviceSelector selects it [network.lb-unserved]',
    ]);
  });

  it('fails an inventory address for a Service no app renders', () => {
    const problems = networkProblems(
      (chart) => {
        new Cilium(chart, 'cilium', { ...ciliumProps, loadBalancerAddresses: { 'web/missing': { addresses: ['198.51.100.1'] } } });
        new LoadBalancerPool(chart, 'public', { name: 'public', blocks: ['198.51.100.0/28'] });
      },
      { addons: [loadBalancerAddressAddon({ 'web/missing': { addresses: ['198.51.100.1'] } })] },
    );
    expect(problems).toEqual([
      'lab/web/public/Resource: the inventory assigns addresses to Service web/missing (network.loadBalancer.services), but no app renders a LoadBalancer Service of that name: correct the key or remove it [network.lb-assignment]',
    ]);
  });

  it('fails a peer config that does not exist, selectors that select nothing, and an unusable ASN', () => {
    const problems = networkProblems((chart) => {
      new Cilium(chart, 'cilium', ciliumProps);
      new LoadBalancerPool(chart, 'public', { name: 'public', blocks: ['198.51.100.0/28'] });
      loadBalancer(chart, 'web');
      const bgp = new BgpPeering(chart, 'bgp', { asn: 23456, peers: [{ name: 'router', address: '192.0.2.1', asn: 64512 }] });
      bgp.clusterConfig.addJsonPatch(JsonPatch.replace('/spec/bgpInstances/0/peers/0/peerConfigRef/name', 'typo'));
      bgp.advertisement.addJsonPatch(JsonPatch.remove('/spec/advertisements/0/selector'));
      const family = bgp.peerConfigs[0];
      family?.addJsonPatch(JsonPatch.replace('/spec/families/0/advertisements', { matchLabels: { other: 'x' } }));
    });
    expect(problems).toEqual([
      'lab/web/bgp/ClusterConfig: CiliumBGPClusterConfig cilium-bgp: bgpInstances instance-23456: localASN 23456 is AS_TRANS (23456), which no BGP speaker may use [network.asn]',
      'lab/web/bgp/ClusterConfig: CiliumBGPClusterConfig cilium-bgp: peer router names CiliumBGPPeerConfig typo, which no app renders: the session would use the defaults and announce nothing [network.bgp-reference]',
      "lab/web/bgp/PeerConfig-router: CiliumBGPPeerConfig cilium-bgp-router: family ipv4/unicast's advertisements selector selects no CiliumBGPAdvertisement: nothing is announced to the peer [network.bgp-reference]",
      'lab/web/bgp/Advertisement: CiliumBGPAdvertisement cilium-bgp: a Service advertisement with an empty selector selects no Service: select all with a NotIn expression on a label no Service has [network.bgp-reference]',
    ]);
  });

  it('fails chart values that contradict the network facts, and more operator replicas than nodes', () => {
    const rendered = renderScope((chart) => {
      new Cilium(chart, 'cilium', {
        ...ciliumProps,
        nativeRoutingCidrs: { ipv4: '10.235.0.0/16', ipv6: '2a10:4741:36:32::/64' },
        nodes: 1,
        values: { MTU: 9000, enableIPv4Masquerade: true, operator: { replicas: 2 } },
      });
    });
    expect(rendered.messages).toEqual([
      '[network.chart-values] chart value enableIPv4Masquerade is true, but the network facts give false: change the inventory, not the chart values',
      '[network.chart-values] chart value MTU is 9000, but the network facts give 1400: change the inventory, not the chart values',
      '[network.chart-values] IPv4 native routing CIDR 10.235.0.0/16 does not contain the pod CIDR 10.234.128.0/18',
      "[network.chart-values] operator.replicas 2 exceeds the 1 node(s): the chart's pod anti-affinity keeps each replica on its own node, so the rest would stay Pending",
    ]);
    expect(rendered.problems[0]).toMatch(/^lab\/web\/cilium: /);
  });
});
