/* SPDX-License-Identifier: MIT */
/* The libgit2 functions repo.c and repo-checkout.c use, called through pointers filled by
 * dlopen() on first use (see repo_git_load() in repo.c for why), and what the two files share:
 * the handle and its error helpers. Private to them; include it after <git2.h>. When they start
 * using another libgit2 function, add it to both lists below. */
#ifndef SHIPLOG_REPO_GIT_H
#define SHIPLOG_REPO_GIT_H

#define REPO_GIT_FUNCTIONS(X)                                                                      \
	X(git_blob_free)                                                                           \
	X(git_blob_lookup)                                                                         \
	X(git_blob_rawcontent)                                                                     \
	X(git_blob_rawsize)                                                                        \
	X(git_branch_create)                                                                       \
	X(git_branch_lookup)                                                                       \
	X(git_branch_name_is_valid)                                                                \
	X(git_branch_set_upstream)                                                                 \
	X(git_branch_upstream)                                                                     \
	X(git_buf_dispose)                                                                         \
	X(git_checkout_tree)                                                                       \
	X(git_commit_free)                                                                         \
	X(git_commit_id)                                                                           \
	X(git_commit_lookup)                                                                       \
	X(git_commit_tree)                                                                         \
	X(git_config_free)                                                                         \
	X(git_config_get_string_buf)                                                               \
	X(git_credential_ssh_key_from_agent)                                                       \
	X(git_credential_ssh_key_new)                                                              \
	X(git_credential_username_new)                                                             \
	X(git_diff_free)                                                                           \
	X(git_diff_get_delta)                                                                      \
	X(git_diff_num_deltas)                                                                     \
	X(git_diff_tree_to_tree)                                                                   \
	X(git_error_last)                                                                          \
	X(git_graph_descendant_of)                                                                 \
	X(git_index_free)                                                                          \
	X(git_index_get_bypath)                                                                    \
	X(git_libgit2_init)                                                                        \
	X(git_object_free)                                                                         \
	X(git_object_id)                                                                           \
	X(git_object_peel)                                                                         \
	X(git_odb_hash)                                                                            \
	X(git_odb_hashfile)                                                                        \
	X(git_oid_cpy)                                                                             \
	X(git_oid_equal)                                                                           \
	X(git_oid_fromstr)                                                                         \
	X(git_oid_tostr)                                                                           \
	X(git_reference_free)                                                                      \
	X(git_reference_is_branch)                                                                 \
	X(git_reference_peel)                                                                      \
	X(git_reference_set_target)                                                                \
	X(git_reference_shorthand)                                                                 \
	X(git_remote_fetch)                                                                        \
	X(git_remote_free)                                                                         \
	X(git_remote_list)                                                                         \
	X(git_remote_lookup)                                                                       \
	X(git_remote_push)                                                                         \
	X(git_remote_url)                                                                          \
	X(git_repository_config_snapshot)                                                          \
	X(git_repository_free)                                                                     \
	X(git_repository_head)                                                                     \
	X(git_repository_index)                                                                    \
	X(git_repository_open_ext)                                                                 \
	X(git_repository_path)                                                                     \
	X(git_repository_set_head)                                                                 \
	X(git_repository_set_head_detached)                                                        \
	X(git_repository_workdir)                                                                  \
	X(git_reset_default)                                                                       \
	X(git_revparse_single)                                                                     \
	X(git_status_byindex)                                                                      \
	X(git_status_list_entrycount)                                                              \
	X(git_status_list_free)                                                                    \
	X(git_status_list_new)                                                                     \
	X(git_strarray_dispose)                                                                    \
	X(git_tree_entry_bypath)                                                                   \
	X(git_tree_entry_free)                                                                     \
	X(git_tree_entry_id)                                                                       \
	X(git_tree_entry_type)                                                                     \
	X(git_tree_free)

#define REPO_GIT_MEMBER(name) __typeof__(name) *p_##name;
struct repo_git_api {
	REPO_GIT_FUNCTIONS(REPO_GIT_MEMBER)
};
extern struct repo_git_api repo_git;

#define git_blob_free (*repo_git.p_git_blob_free)
#define git_blob_lookup (*repo_git.p_git_blob_lookup)
#define git_blob_rawcontent (*repo_git.p_git_blob_rawcontent)
#define git_blob_rawsize (*repo_git.p_git_blob_rawsize)
#define git_branch_create (*repo_git.p_git_branch_create)
#define git_branch_lookup (*repo_git.p_git_branch_lookup)
#define git_branch_name_is_valid (*repo_git.p_git_branch_name_is_valid)
#define git_branch_set_upstream (*repo_git.p_git_branch_set_upstream)
#define git_branch_upstream (*repo_git.p_git_branch_upstream)
#define git_buf_dispose (*repo_git.p_git_buf_dispose)
#define git_checkout_tree (*repo_git.p_git_checkout_tree)
#define git_commit_free (*repo_git.p_git_commit_free)
#define git_commit_id (*repo_git.p_git_commit_id)
#define git_commit_lookup (*repo_git.p_git_commit_lookup)
#define git_commit_tree (*repo_git.p_git_commit_tree)
#define git_config_free (*repo_git.p_git_config_free)
#define git_config_get_string_buf (*repo_git.p_git_config_get_string_buf)
#define git_credential_ssh_key_from_agent (*repo_git.p_git_credential_ssh_key_from_agent)
#define git_credential_ssh_key_new (*repo_git.p_git_credential_ssh_key_new)
#define git_credential_username_new (*repo_git.p_git_credential_username_new)
#define git_diff_free (*repo_git.p_git_diff_free)
#define git_diff_get_delta (*repo_git.p_git_diff_get_delta)
#define git_diff_num_deltas (*repo_git.p_git_diff_num_deltas)
#define git_diff_tree_to_tree (*repo_git.p_git_diff_tree_to_tree)
#define git_error_last (*repo_git.p_git_error_last)
#define git_graph_descendant_of (*repo_git.p_git_graph_descendant_of)
#define git_index_free (*repo_git.p_git_index_free)
#define git_index_get_bypath (*repo_git.p_git_index_get_bypath)
#define git_libgit2_init (*repo_git.p_git_libgit2_init)
#define git_object_free (*repo_git.p_git_object_free)
#define git_object_id (*repo_git.p_git_object_id)
#define git_object_peel (*repo_git.p_git_object_peel)
#define git_odb_hash (*repo_git.p_git_odb_hash)
#define git_odb_hashfile (*repo_git.p_git_odb_hashfile)
#define git_oid_cpy (*repo_git.p_git_oid_cpy)
#define git_oid_equal (*repo_git.p_git_oid_equal)
#define git_oid_fromstr (*repo_git.p_git_oid_fromstr)
#define git_oid_tostr (*repo_git.p_git_oid_tostr)
#define git_reference_free (*repo_git.p_git_reference_free)
#define git_reference_is_branch (*repo_git.p_git_reference_is_branch)
#define git_reference_peel (*repo_git.p_git_reference_peel)
#define git_reference_set_target (*repo_git.p_git_reference_set_target)
#define git_reference_shorthand (*repo_git.p_git_reference_shorthand)
#define git_remote_fetch (*repo_git.p_git_remote_fetch)
#define git_remote_free (*repo_git.p_git_remote_free)
#define git_remote_list (*repo_git.p_git_remote_list)
#define git_remote_lookup (*repo_git.p_git_remote_lookup)
#define git_remote_push (*repo_git.p_git_remote_push)
#define git_remote_url (*repo_git.p_git_remote_url)
#define git_repository_config_snapshot (*repo_git.p_git_repository_config_snapshot)
#define git_repository_free (*repo_git.p_git_repository_free)
#define git_repository_head (*repo_git.p_git_repository_head)
#define git_repository_index (*repo_git.p_git_repository_index)
#define git_repository_open_ext (*repo_git.p_git_repository_open_ext)
#define git_repository_path (*repo_git.p_git_repository_path)
#define git_repository_set_head (*repo_git.p_git_repository_set_head)
#define git_repository_set_head_detached (*repo_git.p_git_repository_set_head_detached)
#define git_repository_workdir (*repo_git.p_git_repository_workdir)
#define git_reset_default (*repo_git.p_git_reset_default)
#define git_revparse_single (*repo_git.p_git_revparse_single)
#define git_status_byindex (*repo_git.p_git_status_byindex)
#define git_status_list_entrycount (*repo_git.p_git_status_list_entrycount)
#define git_status_list_free (*repo_git.p_git_status_list_free)
#define git_status_list_new (*repo_git.p_git_status_list_new)
#define git_strarray_dispose (*repo_git.p_git_strarray_dispose)
#define git_tree_entry_bypath (*repo_git.p_git_tree_entry_bypath)
#define git_tree_entry_free (*repo_git.p_git_tree_entry_free)
#define git_tree_entry_id (*repo_git.p_git_tree_entry_id)
#define git_tree_entry_type (*repo_git.p_git_tree_entry_type)
#define git_tree_free (*repo_git.p_git_tree_free)

struct repo {
	git_repository *git;
	char *workdir; /* without a trailing slash */
	char err[1024];
};

/* libgit2's last error message ("unknown libgit2 error" when none). */
const char *repo_git_msg(void);
/* Sets r's message (a filesystem that is full is named with the way out); returns code. */
int repo_fail(struct repo *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void repo_oid_hex(const git_oid *oid, char out[REPO_OID_HEX]);
/* The commit of a full hex id: 0, or -EINVAL / SL_EUSAGE with r's message. */
int repo_commit_lookup(struct repo *r, const char *hex, git_commit **c);

#endif
