//! Users and groups from /etc/passwd and /etc/group: a uid's name (shown in the event log
//! for a local console; `uid N` when unlisted), a group's gid, and whether a user is in it.

pub fn name_of(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| lookup(&text, uid).map(|(name, _)| name))
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// A group's gid and listed members, from /etc/group.
pub fn group(name: &str) -> Option<(u32, Vec<String>)> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    group_in(&text, name)
}

/// Whether the user `uid` (whose effective gid is `gid`) is in group `gid_wanted`: by that
/// gid, by the primary gid /etc/passwd gives it, or by name in the group's member list.
pub fn in_group(uid: u32, gid: u32, gid_wanted: u32, members: &[String]) -> bool {
    if gid == gid_wanted {
        return true;
    }
    let Some((name, primary)) = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| lookup(&text, uid))
    else {
        return false;
    };
    primary == gid_wanted || members.contains(&name)
}

/// `(name, primary gid)` of `uid`.
fn lookup(passwd: &str, uid: u32) -> Option<(String, u32)> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        let id: u32 = f.next()?.parse().ok()?;
        let gid: u32 = f.next()?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| (name.to_string(), gid))
    })
}

fn group_in(text: &str, name: &str) -> Option<(u32, Vec<String>)> {
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let n = f.next()?;
        let _pw = f.next()?;
        let gid: u32 = f.next()?.parse().ok()?;
        let members = f.next().unwrap_or("");
        (n == name).then(|| {
            let members = members
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect();
            (gid, members)
        })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_a_user_by_uid_and_skips_broken_lines() {
        let text =
            "root:x:0:0:root:/root:/bin/bash\nbroken\nalice:x:1000:1001::/home/alice:/bin/sh\n";
        assert_eq!(super::lookup(text, 1000), Some(("alice".to_string(), 1001)));
        assert_eq!(super::lookup(text, 0).map(|l| l.0).as_deref(), Some("root"));
        assert_eq!(super::lookup(text, 7), None);
    }

    #[test]
    fn finds_a_group_with_its_members() {
        let text = "root:x:0:\nbroken\nops:x:1200:alice, bob\nempty:x:1300:\n";
        assert_eq!(
            super::group_in(text, "ops"),
            Some((1200, vec!["alice".to_string(), "bob".to_string()]))
        );
        assert_eq!(super::group_in(text, "empty"), Some((1300, vec![])));
        assert_eq!(super::group_in(text, "nope"), None);
    }
}
