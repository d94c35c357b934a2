//! A uid's user name, from /etc/passwd (the name shown in the event log for a local
//! console); `uid N` when the file does not list it.

pub fn name_of(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| lookup(&text, uid))
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn lookup(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        let id: u32 = f.next()?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_a_user_by_uid_and_skips_broken_lines() {
        let text =
            "root:x:0:0:root:/root:/bin/bash\nbroken\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(super::lookup(text, 1000).as_deref(), Some("alice"));
        assert_eq!(super::lookup(text, 0).as_deref(), Some("root"));
        assert_eq!(super::lookup(text, 7), None);
    }
}
