<?php

/*
 * The WordPress test's hands, run with PHP in the site's folder (no wp-cli):
 *   php wp.php install URL ADMIN_PASSWORD     install WordPress (admin / ADMIN_PASSWORD)
 *   php wp.php setup PAGE_HTML PASSWORD       the plugin and theme activated, a front page, a subscriber
 *   php wp.php option NAME JSON               update_option (a test's switch, e.g. the consent stub)
 *   php wp.php get NAME                       get_option, as JSON
 *   php wp.php uninstall                      deactivate and uninstall the plugin as Plugins -> Delete does
 */

$command = $argv[1] ?? '';
$_SERVER['HTTP_HOST'] = parse_url((string) getenv('WP_TEST_URL'), PHP_URL_HOST) ?: '127.0.0.1';
if ($command === 'install') {
    define('WP_INSTALLING', true);
}
require getcwd() . '/wp-load.php';

switch ($command) {
    case 'install':
        require_once ABSPATH . 'wp-admin/includes/upgrade.php';
        $result = wp_install('Test site', 'admin', 'admin@example.com', false, '', $argv[3]);
        echo json_encode(['user_id' => $result['user_id']]);
        break;
    case 'setup':
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        $activated = activate_plugin('calltracking/calltracking.php');
        if (is_wp_error($activated)) {
            fwrite(STDERR, $activated->get_error_message());
            exit(1);
        }
        switch_theme('ct-test');
        $page = wp_insert_post([
            'post_type' => 'page',
            'post_status' => 'publish',
            'post_title' => 'Call us',
            'post_content' => $argv[2],
        ]);
        update_option('show_on_front', 'page');
        update_option('show_avatars', 0); // Gravatar is on the internet, which the test does not reach
        update_option('page_on_front', $page);
        $subscriber = wp_insert_user([
            'user_login' => 'subscriber',
            'user_pass' => $argv[3],
            'user_email' => 'subscriber@example.com',
            'role' => 'subscriber',
        ]);
        echo json_encode(['page_id' => $page, 'subscriber_id' => $subscriber]);
        break;
    case 'option':
        update_option($argv[2], json_decode($argv[3], true));
        break;
    case 'uninstall':
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        deactivate_plugins('calltracking/calltracking.php');
        uninstall_plugin('calltracking/calltracking.php');
        echo json_encode(['active' => get_option('active_plugins')]);
        break;
    case 'get':
        echo json_encode(get_option($argv[2], null));
        break;
    default:
        fwrite(STDERR, "unknown command\n");
        exit(2);
}
