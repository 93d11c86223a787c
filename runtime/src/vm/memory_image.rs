//! Applying a module's memory image (see kiln-compiler's `memory_image.rs`): the first
//! memory's initial pages, mapped copy-on-write from the executable file when the image
//! lies in it (a built executable), else copied (modules loaded by `kiln run`, modules in a
//! shared library, no `/proc` to reopen the executable from, or a program started through
//! the dynamic loader, whose `/proc/self/exe` is the loader).

use super::mmap::{page_size, Mmap};
use crate::Error;
use std::ffi::{c_int, c_void};

/// Puts `image` at offset `start` of `mapping`, whose pages there are accessible, zeroed
/// and unused yet (a memory being instantiated).
///
/// # Safety
/// `[start, start + image.len())` must be such pages of `mapping`.
pub(crate) unsafe fn apply(mapping: &mut Mmap, start: usize, image: &[u8]) -> Result<(), Error> {
    if map_from_executable(mapping, start, image)? {
        return Ok(());
    }
    // SAFETY: caller's contract; the image is the module's read-only data.
    unsafe { mapping.slice_mut(start, image.len()) }.copy_from_slice(image);
    Ok(())
}

/// Maps the file pages that hold `image` over `[start, start + image.len())` of
/// `mapping`, private and writable; `false` when the image is not in the executable's file
/// pages at a page-aligned offset, or the host refused (the pages are zeroed then).
fn map_from_executable(mapping: &mut Mmap, start: usize, image: &[u8]) -> Result<bool, Error> {
    let page = page_size();
    let aligned = |value: usize| value.is_multiple_of(page);
    if image.is_empty()
        || !aligned(start)
        || !aligned(image.as_ptr() as usize)
        || !aligned(image.len())
    {
        return Ok(false);
    }
    let Some(FileBytes { offset, headers }) =
        executable_file_offset(image.as_ptr() as usize, image.len())
    else {
        return Ok(false);
    };
    if !aligned(offset as usize) {
        return Ok(false);
    }
    // The file the kernel executed, even if its path has been replaced since.
    // SAFETY: a NUL-terminated path.
    let fd = unsafe { libc::open(c"/proc/self/exe".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Ok(false);
    }
    // The file's pages hold the same bytes as `image` (the running executable cannot be
    // written: ETXTBSY).
    let mapped = if is_main_program(fd, headers) {
        mapping
            .map_file(start, image.len(), fd, offset)
            .map_err(|error| Error::new(format!("cannot map a memory's initial pages: {error}")))
    } else {
        Ok(false)
    };
    // SAFETY: `fd` is ours.
    unsafe { libc::close(fd) };
    mapped
}

/// Where bytes of the main program lie in its file.
struct FileBytes {
    /// Offset in the file.
    offset: u64,
    /// The main program's program headers, as loaded.
    headers: &'static [libc::Elf64_Phdr],
}

/// Where in the main program's file the `len` bytes at `address` are, when they lie in
/// one of its loaded segments' file bytes.
fn executable_file_offset(address: usize, len: usize) -> Option<FileBytes> {
    struct Search {
        address: usize,
        len: usize,
        found: Option<FileBytes>,
    }

    /// Looks for the address in the program headers of the main program, which glibc and
    /// musl both report first (glibc names it "", static musl "/proc/self/exe"); stops
    /// after it.
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: dl_iterate_phdr passes a valid info and our `Search`.
        let (info, search) = unsafe { (&*info, &mut *data.cast::<Search>()) };
        if info.dlpi_phdr.is_null() {
            return 1;
        }
        // SAFETY: `dlpi_phnum` headers at `dlpi_phdr`, in the main program's mapping,
        // which lasts as long as the process.
        let headers: &'static [libc::Elf64_Phdr] =
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
        for header in headers
            .iter()
            .filter(|header| header.p_type == libc::PT_LOAD)
        {
            let start = (info.dlpi_addr as usize).wrapping_add(header.p_vaddr as usize);
            let file_end = start.saturating_add(header.p_filesz as usize);
            if start <= search.address && search.address.saturating_add(search.len) <= file_end {
                search.found = Some(FileBytes {
                    offset: header.p_offset + (search.address - start) as u64,
                    headers,
                });
                break;
            }
        }
        1
    }

    let mut search = Search {
        address,
        len,
        found: None,
    };
    // SAFETY: `visit` matches the callback type and only reads what it is given.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&raw mut search).cast()) };
    search.found
}

/// Whether the open file `fd` is the main program, whose loaded program headers are
/// `headers`: `/proc/self/exe` is not when the program was started through the dynamic
/// loader (`ld-linux-x86-64.so.2 ./program`), and its pages must not be mapped then.
fn is_main_program(fd: c_int, headers: &[libc::Elf64_Phdr]) -> bool {
    let read_at = |buffer: &mut [u8], offset: u64| {
        // SAFETY: reading into a buffer of `buffer.len()` bytes.
        let read = unsafe {
            libc::pread(
                fd,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                offset as libc::off_t,
            )
        };
        read == buffer.len() as isize
    };
    let mut elf_header = [0u8; 64];
    if !read_at(&mut elf_header, 0) || elf_header[..4] != *b"\x7fELF" {
        return false;
    }
    // Elf64_Ehdr: e_phoff at 32 (u64), e_phentsize at 54 and e_phnum at 56 (u16).
    let phoff = u64::from_le_bytes(elf_header[32..40].try_into().unwrap());
    let phentsize = u16::from_le_bytes([elf_header[54], elf_header[55]]);
    let phnum = u16::from_le_bytes([elf_header[56], elf_header[57]]);
    let entry_size = std::mem::size_of::<libc::Elf64_Phdr>();
    if usize::from(phentsize) != entry_size || usize::from(phnum) != headers.len() {
        return false;
    }
    let mut in_file = vec![0u8; std::mem::size_of_val(headers)];
    // SAFETY: the loaded headers are plain data of that many bytes.
    let loaded =
        unsafe { std::slice::from_raw_parts(headers.as_ptr().cast::<u8>(), in_file.len()) };
    read_at(&mut in_file, phoff) && in_file == loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 64 KiB of known bytes, page-aligned in this test binary's read-only data.
    #[repr(C, align(65536))]
    struct Aligned([u8; 65536]);
    static IMAGE: Aligned = {
        let mut bytes = [0u8; 65536];
        let mut i = 0;
        while i < bytes.len() {
            bytes[i] = (i % 251) as u8;
            i += 1;
        }
        Aligned(bytes)
    };

    #[test]
    fn the_executable_file_holds_its_own_read_only_data() {
        let image = &IMAGE.0;
        let found = executable_file_offset(image.as_ptr() as usize, image.len())
            .expect("the test binary's rodata is in its file");
        let offset = found.offset;
        let file = std::fs::read("/proc/self/exe").unwrap();
        assert_eq!(&file[offset as usize..offset as usize + image.len()], image);
        let on_stack = 0u8;
        assert!(executable_file_offset(&raw const on_stack as usize, 1).is_none());

        let open = |path: &std::ffi::CStr| {
            // SAFETY: a NUL-terminated path.
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            assert!(fd >= 0, "{path:?}");
            fd
        };
        for (path, main) in [(c"/proc/self/exe", true), (c"/bin/sh", false)] {
            let fd = open(path);
            assert_eq!(is_main_program(fd, found.headers), main, "{path:?}");
            // SAFETY: ours.
            unsafe { libc::close(fd) };
        }
    }

    #[test]
    fn an_image_is_mapped_writable_and_private() {
        let image = &IMAGE.0;
        let len = 2 * image.len();
        let mut mapping = Mmap::accessible(len).unwrap();
        let mapped = map_from_executable(&mut mapping, 0, image).unwrap();
        assert!(mapped, "mapped from the file, not copied");
        // SAFETY: our mapping, all accessible.
        let memory = unsafe { mapping.slice_mut(0, len) };
        assert_eq!(&memory[..image.len()], image);
        assert!(memory[image.len()..].iter().all(|&b| b == 0));
        memory[0] = 0xff;
        assert_eq!(IMAGE.0[0], 0, "writes stay private");
    }
}
