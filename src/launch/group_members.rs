//! The processes of lokiwrap's process group, read from /proc (Linux): which of the tool's
//! processes are stopped, and which opened the tool's pseudo-terminal to read keys from it.
//! Read only when a decision needs it (a ^Z, a change of terminal settings), never per byte.

use std::path::Path;

/// One process of lokiwrap's group.
pub struct Member {
    pub pid: i32,
    pub parent: i32,
    pub stopped: bool,
}

/// Every process of lokiwrap's process group but lokiwrap itself.
#[cfg(target_os = "linux")]
pub fn members() -> Vec<Member> {
    let group = nix::unistd::getpgrp().as_raw();
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name may hold spaces and parentheses: the fields follow the last ')'.
            let mut fields = stat.get(stat.rfind(')')? + 2..)?.split(' ');
            let state = fields.next()?;
            let parent: i32 = fields.next()?.parse().ok()?;
            let pgrp: i32 = fields.next()?.parse().ok()?;
            (pgrp == group).then_some(Member {
                pid,
                parent,
                stopped: state == "T",
            })
        })
        .collect()
}

#[cfg(not(target_os = "linux"))]
pub fn members() -> Vec<Member> {
    Vec::new()
}

/// Whether `pid` descends from `ancestor`, by the parents recorded in `members`.
pub fn descends_from(members: &[Member], mut pid: i32, ancestor: i32) -> bool {
    for _ in 0..members.len() {
        let Some(member) = members.iter().find(|m| m.pid == pid) else {
            return false;
        };
        if member.parent == ancestor {
            return true;
        }
        pid = member.parent;
    }
    false
}

/// Whether a process of the group opened `terminal` itself: a descriptor above the three
/// standard ones that names it. A pager such as less opens the terminal its stderr names and
/// reads its keys there; a program that reads keys from stdin opens nothing.
pub fn opened_by_a_member(terminal: &Path) -> bool {
    members().iter().any(|member| {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{}/fd", member.pid)) else {
            return false;
        };
        fds.flatten().any(|fd| {
            fd.file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n > 2)
                && std::fs::read_link(fd.path()).is_ok_and(|target| target == terminal)
        })
    })
}
