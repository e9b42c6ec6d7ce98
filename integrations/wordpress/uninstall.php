<?php

// Deleting the plugin in WordPress removes everything it stored: its one option and the
// per-user form transients of its settings page.

if (!defined('WP_UNINSTALL_PLUGIN')) {
    exit;
}

delete_option('calltracking_settings');
foreach (get_users(['fields' => 'ID', 'capability' => 'manage_options']) as $calltrackingUserId) {
    delete_transient('calltracking_form_' . (int) $calltrackingUserId);
}
