import { UnknownUserError } from './errors.js';

/** The process identity a worker runs as, resolved like Docker resolves an image's USER. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Home directory from /etc/passwd, used for HOME when the image sets none. */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const NUMERIC = /^\d+$/;

function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const fields = line.trim().split(':');
    if (fields.length < 4 || line.startsWith('#')) continue;
    const [name, , uid, gid, , home] = fields;
    if (!name || !NUMERIC.test(uid ?? '') || !NUMERIC.test(gid ?? '')) continue;
    out.push({ name, uid: Number(uid), gid: Number(gid), home: home || '/' });
  }
  return out;
}

function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const fields = line.trim().split(':');
    if (fields.length < 3 || line.startsWith('#')) continue;
    const [name, , gid, members] = fields;
    if (!name || !NUMERIC.test(gid ?? '')) continue;
    out.push({ name, gid: Number(gid), members: (members ?? '').split(',').filter(Boolean) });
  }
  return out;
}

/**
 * Resolves an image `USER` (`user`, `uid`, `user:group`, `uid:gid`, empty for root) against the
 * image's own /etc/passwd and /etc/group contents (never the host's). A numeric uid that the
 * passwd file does not know runs with gid 0, as Docker does; a name it does not know is an error.
 */
export function resolveUser(user: string | undefined, passwd?: string, group?: string): ResolvedUser {
  const spec = (user ?? '').trim();
  const [userPart = '', groupPart] = spec === '' ? ['0'] : spec.split(':', 2);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);

  let entry: PasswdEntry | undefined;
  let uid: number;
  if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    entry = users.find((u) => u.uid === uid);
  } else {
    entry = users.find((u) => u.name === userPart);
    if (!entry) throw new UnknownUserError(spec, 'user');
    uid = entry.uid;
  }

  let gid = entry?.gid ?? 0;
  let additionalGids: number[] = [];
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new UnknownUserError(spec, 'group');
      gid = g.gid;
    }
  } else if (entry) {
    // Without an explicit group the user also gets the groups that list it as a member.
    const name = entry.name;
    additionalGids = [...new Set(groups.filter((g) => g.members.includes(name)).map((g) => g.gid))].filter(
      (g) => g !== gid,
    );
  }

  return { uid, gid, additionalGids, home: entry?.home ?? (uid === 0 ? '/root' : '/') };
}
