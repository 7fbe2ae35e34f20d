// Every ssh_config keyword OpenSSH knows, sorted by what snapdebug does with it: honoured like
// OpenSSH, refused when it applies to a host (we cannot do it, and silently connecting another way
// could reach another machine or trust another key), or ignored because it changes nothing about
// where we connect or what we trust (terminals, forwarding, multiplexing, algorithms, logging).

/** Read and applied as OpenSSH applies them (first obtained value wins). */
export const honouredKeywords = new Set([
  'host', 'match', 'include', 'hostname', 'user', 'port', 'identityfile', 'identitiesonly', 'identityagent',
  'proxyjump', 'userknownhostsfile', 'globalknownhostsfile', 'stricthostkeychecking', 'hostkeyalias',
  'connecttimeout', 'hashknownhosts', 'ignoreunknown',
]);

/**
 * Refused when their value applies to the host (`none`/`no` values are fine): the sentence says
 * why, so the user can change the config rather than be connected some other way.
 */
export const refusedKeywords: Record<string, string> = {
  proxycommand: 'snapdebug does not run proxy commands (ProxyJump is supported)',
  knownhostscommand: 'snapdebug does not run commands to find host keys; list them in a known_hosts file',
  canonicalizehostname: 'snapdebug does not canonicalize host names; name the full host in HostName',
  certificatefile: 'snapdebug cannot log in with SSH certificates; use a plain key',
  pkcs11provider: 'snapdebug cannot use PKCS#11 tokens; use ssh-agent (IdentityAgent) instead',
  bindaddress: 'snapdebug cannot choose the local address of a connection',
  bindinterface: 'snapdebug cannot choose the local interface of a connection',
  revokedhostkeys: 'snapdebug does not read revoked-key lists; mark revoked keys with @revoked in known_hosts',
};

/** Values of refused keywords that mean "off". */
export const offValues = new Set(['none', 'no', 'false']);

/** Known to OpenSSH (9.x and 10.x, Debian's GSSAPI patches, old aliases); no effect here. */
export const ignoredKeywords = new Set([
  'addkeystoagent', 'addressfamily', 'batchmode', 'canonicaldomains', 'canonicalizefallbacklocal',
  'canonicalizemaxdots', 'canonicalizepermittedcnames', 'casignaturealgorithms', 'channeltimeout', 'checkhostip',
  'ciphers', 'clearallforwardings', 'compression', 'connectionattempts', 'controlmaster', 'controlpath',
  'controlpersist', 'dynamicforward', 'enableescapecommandline', 'enablesshkeysign', 'escapechar',
  'exitonforwardfailure', 'fingerprinthash', 'forkafterauthentication', 'forwardagent', 'forwardx11',
  'forwardx11timeout', 'forwardx11trusted', 'gatewayports', 'gssapiauthentication', 'gssapiclientidentity',
  'gssapidelegatecredentials', 'gssapikexalgorithms', 'gssapikeyexchange', 'gssapirenewalforcesrekey',
  'gssapiserveridentity', 'gssapitrustdns', 'hostbasedacceptedalgorithms', 'hostbasedauthentication',
  'hostbasedkeytypes', 'hostkeyalgorithms', 'ipqos', 'kbdinteractiveauthentication', 'kbdinteractivedevices',
  'kexalgorithms', 'localcommand', 'localforward', 'loglevel', 'logverbose', 'macs', 'nohostauthenticationforlocalhost',
  'numberofpasswordprompts', 'obscurekeystroketiming', 'passwordauthentication', 'permitlocalcommand',
  'permitremoteopen', 'preferredauthentications', 'proxyusefdpass', 'pubkeyacceptedalgorithms',
  'pubkeyacceptedkeytypes', 'pubkeyauthentication', 'refuseconnection', 'rekeylimit', 'remotecommand',
  'remoteforward', 'requesttty', 'requiredrsasize', 'securitykeyprovider', 'sendenv',
  'serveralivecountmax', 'serveraliveinterval', 'sessiontype', 'setenv', 'stdinnull', 'streamlocalbindmask',
  'streamlocalbindunlink', 'syslogfacility', 'tag', 'tcpkeepalive', 'tunnel', 'tunneldevice', 'updatehostkeys',
  'verifyhostkeydns', 'versionaddendum', 'visualhostkey', 'warnweakcrypto', 'xauthlocation',
  // Old spellings and options OpenSSH still accepts and ignores.
  'identityfile2', 'keepalive', 'challengeresponseauthentication', 'skeyauthentication', 'tisauthentication',
  'dsaauthentication', 'smartcarddevice', 'protocol', 'cipher', 'fallbacktorsh', 'globalknownhostsfile2',
  'rhostsauthentication', 'userknownhostsfile2', 'useroaming', 'usersh', 'useprivilegedport', 'afstokenpassing',
  'kerberosauthentication', 'kerberostgtpassing', 'rsaauthentication', 'rhostsrsaauthentication', 'compressionlevel',
]);

/** Match criteria OpenSSH has and we do not evaluate; refused when a Match line reaches them. */
export const refusedMatchCriteria: Record<string, string> = {
  exec: 'snapdebug never runs commands from ssh_config',
  localnetwork: 'snapdebug does not evaluate Match localnetwork',
  tagged: 'snapdebug does not evaluate Match tagged',
  command: 'snapdebug does not evaluate Match command',
  version: 'snapdebug does not evaluate Match version',
  sessiontype: 'snapdebug does not evaluate Match sessiontype',
};

export function isKnownKeyword(keyword: string): boolean {
  return honouredKeywords.has(keyword) || keyword in refusedKeywords || ignoredKeywords.has(keyword);
}
