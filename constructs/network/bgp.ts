import { Construct } from 'constructs';
import { type Family, familyOf } from '../../framework/addresses.js';
import {
  CiliumBgpAdvertisementSpecAdvertisementsAdvertisementType as AdvertisementType,
  CiliumBgpAdvertisement,
  CiliumBgpAdvertisementSpecAdvertisementsSelectorMatchExpressionsOperator as SelectorOperator,
  CiliumBgpAdvertisementSpecAdvertisementsServiceAddresses as ServiceAddress,
} from '../../imports/cilium-bgp-advertisement-cilium.io.js';
import { CiliumBgpClusterConfig } from '../../imports/cilium-bgp-cluster-config-cilium.io.js';
import {
  CiliumBgpPeerConfigSpecFamiliesAfi as Afi,
  CiliumBgpPeerConfig,
  CiliumBgpPeerConfigSpecFamiliesSafi as Safi,
} from '../../imports/cilium-bgp-peer-config-cilium.io.js';
import { SopsSecret } from '../secrets/sops-secret.js';

/** The label that ties a peer config's families to the advertisements they announce. */
export const ADVERTISE_LABEL = 'bgp.cilium.io/advertise';
/** The key the BGP control plane reads a session's TCP MD5 password from. */
export const BGP_PASSWORD_KEY = 'password';

export interface BgpTimers {
  readonly connectRetrySeconds: number;
  readonly holdTimeSeconds: number;
  readonly keepAliveSeconds: number;
}

export interface BgpPeer {
  /** Names the peer's objects (a DNS-1123 label). */
  readonly name: string;
  readonly address: string;
  readonly asn: number;
  /** @default the family of address */
  readonly families?: readonly Family[];
  /** The session has a TCP MD5 password, from a SopsSecret in the BGP secrets namespace (key `password`). @default false */
  readonly password?: boolean;
  readonly timers?: BgpTimers;
  readonly ebgpMultihop?: number;
}

export interface BgpPeeringProps {
  /** The cluster's ASN: every selected node speaks BGP with it. */
  readonly asn: number;
  readonly peers: readonly BgpPeer[];
  /** Where the agents read peer passwords (the chart's bgpControlPlane.secretsNamespace.name). @default 'kube-system' */
  readonly secretsNamespace?: string;
  /** Labels of the nodes that peer. @default every Linux node */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Announce each node's pod CIDR, as native routing without direct node routes needs. @default true */
  readonly advertisePodCidrs?: boolean;
}

/**
 * The BGP control plane's configuration (cilium.io/v2): one CiliumBGPClusterConfig with one
 * instance peering with every peer, one CiliumBGPPeerConfig per peer (its families each announcing
 * the advertisements labelled for this peering), and the CiliumBGPAdvertisement that announces the
 * LoadBalancer addresses of every Service (a selector that matches all of them: an empty one
 * matches none) and, by default, the pod CIDRs.
 */
export class BgpPeering extends Construct {
  readonly clusterConfig: CiliumBgpClusterConfig;
  readonly peerConfigs: readonly CiliumBgpPeerConfig[];
  readonly advertisement: CiliumBgpAdvertisement;
  /** The SopsSecrets of the peers' passwords, by peer name. */
  readonly passwords: ReadonlyMap<string, SopsSecret>;

  constructor(scope: Construct, id: string, props: BgpPeeringProps) {
    super(scope, id);
    const name = 'cilium-bgp';
    const advertiseLabels = { [ADVERTISE_LABEL]: name };
    this.advertisement = new CiliumBgpAdvertisement(this, 'Advertisement', {
      metadata: { name, labels: advertiseLabels },
      spec: {
        advertisements: [
          {
            advertisementType: AdvertisementType.SERVICE,
            service: { addresses: [ServiceAddress.LOAD_BALANCER_IP] },
            // Every Service: no Service carries this label with this value.
            selector: { matchExpressions: [{ key: ADVERTISE_LABEL, operator: SelectorOperator.NOT_IN, values: ['never'] }] },
          },
          ...((props.advertisePodCidrs ?? true) ? [{ advertisementType: AdvertisementType.POD_CIDR }] : []),
        ],
      },
    });
    const passwords = new Map<string, SopsSecret>();
    this.peerConfigs = props.peers.map((peer) => {
      const family = familyOf(peer.address);
      const families = peer.families ?? (family ? [family] : []);
      let authSecretRef: string | undefined;
      if (peer.password) {
        const secret = new SopsSecret(this, `password-${peer.name}`, {
          name: `bgp-${peer.name}-password`,
          namespace: props.secretsNamespace ?? 'kube-system',
        });
        secret.requireKeys([BGP_PASSWORD_KEY]);
        passwords.set(peer.name, secret);
        authSecretRef = secret.secretName;
      }
      return new CiliumBgpPeerConfig(this, `PeerConfig-${peer.name}`, {
        metadata: { name: `${name}-${peer.name}` },
        spec: {
          families: families.map((afi) => ({
            afi: afi === 'ipv4' ? Afi.IPV4 : Afi.IPV6,
            safi: Safi.UNICAST,
            advertisements: { matchLabels: advertiseLabels },
          })),
          ...(peer.timers
            ? {
                timers: {
                  connectRetryTimeSeconds: peer.timers.connectRetrySeconds,
                  holdTimeSeconds: peer.timers.holdTimeSeconds,
                  keepAliveTimeSeconds: peer.timers.keepAliveSeconds,
                },
              }
            : {}),
          ...(peer.ebgpMultihop === undefined ? {} : { ebgpMultihop: peer.ebgpMultihop }),
          ...(authSecretRef === undefined ? {} : { authSecretRef }),
          gracefulRestart: { enabled: true },
        },
      });
    });
    this.passwords = passwords;
    this.clusterConfig = new CiliumBgpClusterConfig(this, 'ClusterConfig', {
      metadata: { name },
      spec: {
        nodeSelector: { matchLabels: { ...(props.nodeSelector ?? { 'kubernetes.io/os': 'linux' }) } },
        bgpInstances: [
          {
            name: `instance-${props.asn}`,
            localAsn: props.asn,
            peers: props.peers.map((peer, index) => ({
              name: peer.name,
              peerAddress: peer.address,
              peerAsn: peer.asn,
              peerConfigRef: { name: this.peerConfigs[index]?.name ?? '' },
            })),
          },
        ],
      },
    });
  }
}
