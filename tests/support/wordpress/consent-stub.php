<?php

/*
 * A must-use plugin of the WordPress test: a stub of the WP Consent API, on while the option
 * ct_test_consent_stub is set. In PHP it is the API's wp_has_consent(); in the page the test
 * defines window.wp_has_consent and sends wp_listen_for_consent_change itself.
 */

if (get_option('ct_test_consent_stub')) {
    function wp_has_consent($category)
    {
        return false; // the visitor has not allowed anything when the page is made
    }
}
