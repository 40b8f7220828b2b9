//! Replacing the contents of a file the user may own (`~/.ssh/config`, the inventory,
//! the generated ssh config, the Terraform inputs) without ever leaving it half
//! written, empty, or different in anything but its text.
//!
//! [`write`] writes a temporary file in the same directory, gives it the old file's
//! mode and owner, syncs it to disk and renames it over the old one, then syncs the
//! directory: a crash, a full disk or a Ctrl-C leaves either the old file or the new
//! one, never a truncated one. A symbolic link (dotfile managers link `~/.ssh/config`
//! into a repository) is followed, and its target is what gets replaced: the link stays.
//! A file that did not exist is created owner-only.
//!
//! [`LineEnding`] keeps a file's line endings: text written with `\n` takes the CRLF
//! endings of a file that has them.

use std::borrow::Cow;
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Mode of a file we create (ssh refuses group- or world-writable configs, and the
/// files hold addresses and instance details).
const NEW_FILE_MODE: u32 = 0o600;

/// Symbolic links followed before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// How a file ends its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
}

impl LineEnding {
    /// The ending of `text`'s first line (LF for text without one).
    pub fn of(text: &str) -> Self {
        match text.find('\n') {
            Some(i) if text[..i].ends_with('\r') => LineEnding::CrLf,
            _ => LineEnding::Lf,
        }
    }

    /// The terminator itself.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }

    /// `text`, whose lines end in `\n`, with this ending.
    pub fn apply(self, text: &str) -> Cow<'_, str> {
        match self {
            LineEnding::Lf => Cow::Borrowed(text),
            LineEnding::CrLf => Cow::Owned(text.replace('\n', "\r\n")),
        }
    }
}

/// The file `path` names after following symbolic links (relative links resolve
/// against the link's directory); `path` itself when it is no link or does not exist.
/// A dangling link yields the path it points to, so writing creates its target.
pub fn follow_links(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current)
                    .with_context(|| format!("cannot read the link {}", current.display()))?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(current),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot inspect {}", current.display()))
            }
        }
    }
    bail!(
        "{}: more than {MAX_LINKS} symbolic links in a row (a loop?)",
        path.display()
    )
}

/// The text of `path` (links followed), `None` when it does not exist.
pub fn read(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes `lf_text` (lines ending in `\n`) as the whole of `path`, in the line endings
/// the file has now: for files we generate whole, which the user may have converted.
pub fn write_generated(path: &Path, lf_text: &str) -> Result<()> {
    let ending = read(&follow_links(path)?)?.map_or(LineEnding::Lf, |old| LineEnding::of(&old));
    write(path, &ending.apply(lf_text))
}

/// Replaces the contents of `path` (of its target, for a link) with `text` atomically,
/// keeping the file's mode and owner; a new file is created with mode 0600 (and its
/// directory when missing).
pub fn write(path: &Path, text: &str) -> Result<()> {
    let target = follow_links(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let old = match fs::metadata(&target) {
        Ok(meta) if meta.is_file() => Some(meta),
        Ok(_) => bail!(
            "{} is not a regular file: not replacing it",
            target.display()
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", target.display())),
    };
    let (tmp_path, mut tmp) = create_temp(&dir, &target)?;
    let written = fill(&mut tmp, text, old.as_ref())
        .and_then(|()| {
            fs::rename(&tmp_path, &target).context("cannot move it into place")?;
            Ok(())
        })
        .with_context(|| {
            format!(
                "cannot write {} (through {})",
                target.display(),
                tmp_path.display()
            )
        });
    if written.is_err() {
        let _ = fs::remove_file(&tmp_path);
        return written;
    }
    // The rename is durable once the directory is on disk. Some filesystems refuse
    // fsync on a directory; the file itself is already synced, so that is no failure.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A new, exclusive, owner-only file next to `target`: never one that exists (nor a
/// link someone planted there).
fn create_temp(dir: &Path, target: &Path) -> Result<(PathBuf, fs::File)> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    loop {
        let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(NEW_FILE_MODE)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot create a temporary file in {}", dir.display())
                })
            }
        }
    }
}

/// The text, then the old file's owner and mode, then everything on disk.
fn fill(file: &mut fs::File, text: &str, old: Option<&fs::Metadata>) -> Result<()> {
    file.write_all(text.as_bytes())?;
    let mode = match old {
        Some(old) => {
            let mine = file.metadata()?;
            if (mine.uid(), mine.gid()) != (old.uid(), old.gid()) {
                std::os::unix::fs::fchown(&*file, Some(old.uid()), Some(old.gid())).with_context(
                    || {
                        format!(
                            "cannot keep its owner {}:{} (the file would change hands)",
                            old.uid(),
                            old.gid()
                        )
                    },
                )?;
            }
            old.permissions().mode() & 0o7777
        }
        None => NEW_FILE_MODE,
    };
    // After the chown, which clears set-id bits.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn new_files_are_private_and_old_ones_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("sub/new");
        write(&fresh, "a\n").unwrap();
        assert_eq!(fs::read_to_string(&fresh).unwrap(), "a\n");
        assert_eq!(mode(&fresh), 0o600);

        let shared = dir.path().join("shared");
        fs::write(&shared, "old\n").unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o640)).unwrap();
        write(&shared, "new\n").unwrap();
        assert_eq!(fs::read_to_string(&shared).unwrap(), "new\n");
        assert_eq!(mode(&shared), 0o640, "the user's mode stays");
        assert_eq!(entries(dir.path()), ["shared", "sub"], "no temp file left");
    }

    #[test]
    fn replaces_instead_of_truncating() {
        // A reader holding the old file keeps seeing the old text whole: the new one is
        // another inode, renamed into place.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        fs::write(&path, "old text\n").unwrap();
        let before = fs::metadata(&path).unwrap().ino();
        write(&path, "new\n").unwrap();
        assert_ne!(fs::metadata(&path).unwrap().ino(), before);
    }

    #[test]
    fn something_else_in_the_way_is_refused_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        let err = write(&blocked, "x").unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        assert_eq!(entries(dir.path()), ["blocked"]);
    }

    #[test]
    fn the_owner_stays() {
        if !rustix::process::geteuid().is_root() {
            return; // only root can hand a file to someone else to begin with
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        fs::write(&path, "Host mine\n").unwrap();
        std::os::unix::fs::chown(&path, Some(4321), Some(4322)).unwrap();
        write(&path, "Host new\n").unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
    }

    #[test]
    fn a_link_is_edited_at_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles");
        fs::create_dir(&dotfiles).unwrap();
        fs::write(dotfiles.join("ssh_config"), "Host mine\n").unwrap();
        let ssh = dir.path().join(".ssh");
        fs::create_dir(&ssh).unwrap();
        // Relative, and through a second link.
        std::os::unix::fs::symlink("../dotfiles/ssh_config", ssh.join("real")).unwrap();
        std::os::unix::fs::symlink("real", ssh.join("config")).unwrap();
        write(&ssh.join("config"), "Host new\n").unwrap();
        assert!(fs::symlink_metadata(ssh.join("config"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            fs::read_to_string(dotfiles.join("ssh_config")).unwrap(),
            "Host new\n"
        );
        assert_eq!(entries(&dotfiles), ["ssh_config"]);

        std::os::unix::fs::symlink("loop", dir.path().join("loop")).unwrap();
        let err = write(&dir.path().join("loop"), "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("symbolic links"), "{err}");
    }

    #[test]
    fn generated_text_takes_the_files_line_endings() {
        assert_eq!(LineEnding::of("a\r\nb\n"), LineEnding::CrLf);
        assert_eq!(LineEnding::of("a\nb\r\n"), LineEnding::Lf);
        assert_eq!(LineEnding::of("no newline"), LineEnding::Lf);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        fs::write(&path, "[all]\r\nold\r\n").unwrap();
        write_generated(&path, "[all]\nnew\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "[all]\r\nnew\r\n");
        let fresh = dir.path().join("fresh");
        write_generated(&fresh, "a\n").unwrap();
        assert_eq!(fs::read_to_string(&fresh).unwrap(), "a\n");
    }
}
