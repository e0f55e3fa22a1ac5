//! Reading files from disk without ever blocking on one that is not a file (shared with the
//! `aiolint` binary, which reads the files it checks the same way).

use std::path::Path;

/// The bytes of the file at `path`, refusing anything but a regular file (after following
/// symbolic links) before reading from it: a named pipe would block the run until something
/// writes to it, a device may never end. The file is opened without blocking (opening a pipe
/// for reading otherwise waits for a writer) and its type is checked on the open file, so it
/// cannot change in between.
pub fn read_regular_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let metadata = file.metadata()?;
    let kind = metadata.file_type();
    if !kind.is_file() {
        let what = if kind.is_fifo() {
            "a named pipe"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_dir() {
            "a directory"
        } else {
            "something else"
        };
        return Err(std::io::Error::other(format!(
            "not a regular file ({what})"
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}
