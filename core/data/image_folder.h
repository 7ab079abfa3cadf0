// `folder:DIR`: a data set of one's own images, found by walking a folder.
//
// Every .png, .jpg and .jpeg (any case) under DIR, recursively, is an image. The folders
// directly below DIR are the classes, named after the folder and numbered in bytewise
// order; an image anywhere below a class folder has that class. A DIR with no class folders
// (all the images directly in it) is one class named "". Images are ordered by class, then
// by path bytewise, so the same folder always gives the same labels and order.
//
// Skipped: names starting with '.' (hidden files and folders, macOS "._x.png" resource
// forks, which are not images), anything that is not a regular file or directory after
// following symlinks, broken symlinks, and a directory reached a second time (by
// device and inode: a symlink loop or two links to one folder are walked once).
// File names are bytes (not necessarily UTF-8); messages show them escaped.
//
// Errors (mg::Error naming DIR): DIR missing or not a directory, an unreadable folder,
// no images at all, images both directly in DIR and in class folders, folders nested
// deeper than max_depth, more than max_files images, and a class with fewer than
// min_images_per_class images (a class needs two to be split into training and held-out
// images; set 1 to allow it). A class folder with no images is not a class.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mg::data {

struct ImageFile {
    std::string path;      // DIR + "/" + the path below DIR
    int64_t label = 0;     // index into ImageFolder::classes
    uint64_t bytes = 0;    // size, for the cache key
    int64_t mtime_ns = 0;  // modification time, for the cache key
};

struct ImageFolder {
    std::string root;
    // Which of root's images a source takes when it is not all of them (emoji: the vendors, in
    // order); part of the cache file's name, so that two selections keep two cache files.
    std::string selection;
    std::vector<std::string> classes;  // bytewise sorted
    std::vector<ImageFile> files;      // by label, then path
};

struct FolderScanOptions {
    int64_t min_images_per_class = 2;
    int max_depth = 32;
    int64_t max_files = 20'000'000;
};

ImageFolder scan_image_folder(const std::string& dir, const FolderScanOptions& options = {});

// Whether a file name ends in .png, .jpg or .jpeg, in any case.
bool is_image_file_name(std::string_view name);

// A file name for a message: quoted, control bytes and bytes that are not UTF-8 as \xNN,
// cut short by io::quote_short.
std::string printable_name(std::string_view name);

}  // namespace mg::data
