/** /etc/hosts for a worker: `localhost` must resolve even in scratch images that ship none. */
export function hostsFile(hostname: string): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `127.0.1.1\t${hostname}`,
    '',
  ].join('\n');
}

/** resolv.conf for a worker: the host's when it shares the host network, none when cut off. */
export function resolvConf(hostResolvConf: string | undefined, network: 'host' | 'none'): string {
  if (network === 'none') return '';
  return hostResolvConf ?? '';
}
